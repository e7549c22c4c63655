import { defineConfig } from 'tsup'
import { packageBuild } from '../../tsup.shared.ts'

// ESM only: the suites import `vitest`, whose CommonJS entry throws on require() by design, and
// vitest loads test files as ES modules whatever the user's own package type. A CommonJS build
// could never run, so none is shipped.
export default defineConfig(packageBuild({ format: ['esm'] }))
