import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['@vigil/source'] },
  ssr: { resolve: { conditions: ['@vigil/source'] } },
  test: {
    include: ['**/src/**/*.test.ts', 'test/**/*.test.ts', 'examples/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
