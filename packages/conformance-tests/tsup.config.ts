import { defineConfig } from 'tsup'

// ESM only: the suites import `vitest`, whose CommonJS entry throws on require() by design, and
// vitest loads test files as ES modules whatever the user's own package type. A CommonJS build
// could never run, so none is shipped.
export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'es2022',
  // Keep `node:` specifiers: every supported runtime (Node >= 20, Bun, Deno, workerd) needs or accepts them.
  removeNodeProtocol: false,
  tsconfig: '../../tsconfig.build.json',
})
