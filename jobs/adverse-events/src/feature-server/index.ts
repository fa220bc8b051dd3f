export * from './feast-response.js';
export * from './feature-server.js';
export * from './online-request.js';
