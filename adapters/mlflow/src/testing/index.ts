export { type MlflowTestServer, mlflowTestServer, requireMlflow } from './test-server.js';
