import type { Options } from 'tsup'

/**
 * The build every package shares: ESM and CommonJS with types, from `src/index.ts`.
 * dependencies and peerDependencies stay external (tsup's default), so every adapter uses the same
 * @x/session-core as its siblings.
 */
export function packageBuild(overrides: Options = {}): Options {
  return {
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    clean: true,
    sourcemap: true,
    target: 'es2022',
    // Keep `node:` specifiers: every supported runtime (Node >= 20, Bun, Deno, workerd) needs or accepts them.
    removeNodeProtocol: false,
    tsconfig: '../../tsconfig.build.json',
    ...overrides,
  }
}
