export { type LakeFsTestServer, lakefsTestServer, requireLakeFs } from './test-server.js';
