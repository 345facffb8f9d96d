/**
 * The compose end-to-end test only (npm run test:compose runs it through scripts/compose-test.sh,
 * which prepares Docker and the network namespace). Its file is named *.e2e.ts so that the fast
 * suite (vitest.config.ts: test/**\/*.test.ts) never picks it up.
 */
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['test/compose/*.e2e.ts'],
    // Containers start on a shared two-core machine: each step gets minutes, not seconds.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
    setupFiles: ['test/support/setup.ts']
  }
})
