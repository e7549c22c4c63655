/**
 * Unstable: core's Fe26.2 sealer, exported for benchmarks (`pnpm bench` measures it against iron
 * and a node:crypto lower bound). Not part of the public API: anything here may change or go in any
 * release, without a major version. Apps use `createSessionManager` or an adapter instead.
 *
 * @packageDocumentation
 */
export {
  createSealer,
  type Sealer,
  type SealerOptions,
  type SecretInput,
  type UnsealFailure,
  type UnsealResult,
} from './internal/sealer.js'
