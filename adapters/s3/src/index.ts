export { s3Lake } from './s3-lake.js';
export { S3LakeStore, type S3LakeStoreOptions } from './s3-lake-store.js';
