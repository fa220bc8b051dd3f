export { MlflowApiError, MlflowClient, type MlflowClientOptions } from './client/mlflow-client.js';
export { mlflowRegistry } from './mlflow-adapter.js';
export { MlflowRegistry, type MlflowRegistryOptions } from './mlflow-registry.js';
