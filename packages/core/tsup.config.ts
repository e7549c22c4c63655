import { defineConfig } from 'tsup'

export default defineConfig({
  entry: ['src/index.ts', 'src/testing.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'es2022',
  tsconfig: '../../tsconfig.build.json',
  // iron-webcrypto and uint8array-extras ship ESM only: bundle them into the CommonJS build so
  // `require('@x/session-core')` works on every supported Node without require(esm).
  noExternal: [],
})
