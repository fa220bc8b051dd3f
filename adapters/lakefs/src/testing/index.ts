export {
  type LakeFsTestServer,
  lakefsTestNamespace,
  lakefsTestServer,
  requireLakeFs,
} from './test-server.js';
