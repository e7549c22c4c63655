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
    // No source maps: the output is unminified ES2022, line for line close to the TypeScript, so a
    // stack trace reads as it is; a map would only point at src/ files the tarball does not carry.
    sourcemap: false,
    target: 'es2022',
    // Keep `node:` specifiers: every supported runtime (Node >= 20, Bun, Deno, workerd) needs or accepts them.
    removeNodeProtocol: false,
    tsconfig: '../../tsconfig.build.json',
    ...overrides,
  }
}
