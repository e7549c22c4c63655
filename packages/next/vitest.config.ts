import { defineConfig, mergeConfig } from 'vitest/config'
import { sharedConfig } from '../../vitest.shared.ts'

export default mergeConfig(
  sharedConfig,
  defineConfig({
    test: {
      // One `next build` per run, shared by every test file (test/global-setup.ts).
      globalSetup: ['test/global-setup.ts'],
    },
  }),
)
