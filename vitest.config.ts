// One vitest run for unit and cluster tests. Cluster tests start real processes (five per cluster)
// on a 2-core CI machine, so test files run one at a time: parallel clusters would turn timing
// margins into flakiness. Unit tests are fast enough that running them serially costs little.

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // A cluster test that fails leaves its processes to the harness's close(); no retries that
    // would hide a flaky guarantee.
    retry: 0,
  },
});
