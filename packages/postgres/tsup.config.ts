import { defineConfig } from 'tsup'
import { packageBuild } from '../../tsup.shared.ts'

// No ESM-only runtime dependency of its own, so the CommonJS build needs nothing bundled:
// packages/core/tsup.config.ts is the one package that does.
export default defineConfig(packageBuild())
