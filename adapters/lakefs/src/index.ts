export { LakeFsApiError } from './client/lakefs-api-error.js';
export { LakeFsClient, type LakeFsClientOptions } from './client/lakefs-client.js';
export { lakefsLake } from './lakefs.js';
export { LakeFsLakeStore, type LakeFsLakeStoreOptions } from './store/lakefs-lake-store.js';
