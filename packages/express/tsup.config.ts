import { defineConfig } from 'tsup'

// dependencies and peerDependencies stay external (tsup's default), so this package uses the same
// @x/session-core as its siblings. It has no ESM-only runtime dependency of its own, so the CommonJS
// build needs nothing bundled: see packages/core/tsup.config.ts for the one package that does.
export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'es2022',
  // Keep `node:` specifiers: every supported runtime (Node >= 20, Bun, Deno, workerd) needs or accepts them.
  removeNodeProtocol: false,
  tsconfig: '../../tsconfig.build.json',
})
