import { defineConfig } from 'tsup'
import { packageBuild } from '../../tsup.shared.ts'

// `next` stays external (a peer dependency): `next/headers` must be the app's own copy, whose
// request storage holds the current request.
export default defineConfig(packageBuild({ external: ['next', 'next/headers.js'] }))
