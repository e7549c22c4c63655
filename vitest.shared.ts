import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const pkg = (name: string, entry = 'src/index.ts') =>
  fileURLToPath(new URL(`./packages/${name}/${entry}`, import.meta.url))

/** Tests run against source: workspace packages resolve to their `src`, so no build is needed first. */
export const alias = {
  '@x/session-core/testing': pkg('core', 'src/testing.ts'),
  '@x/session-core/context': pkg('core', 'src/context.ts'),
  '@x/session-core/internal': pkg('core', 'src/internal.ts'),
  '@x/session-core': pkg('core'),
  '@x/session-express/context': pkg('express', 'src/context.ts'),
  '@x/session-express': pkg('express'),
  '@x/session-fastify/context': pkg('fastify', 'src/context.ts'),
  '@x/session-fastify': pkg('fastify'),
  '@x/session-koa/context': pkg('koa', 'src/context.ts'),
  '@x/session-koa': pkg('koa'),
  '@x/session-hono/context': pkg('hono', 'src/context.ts'),
  '@x/session-hono': pkg('hono'),
  '@x/session-web/context': pkg('web', 'src/context.ts'),
  '@x/session-web': pkg('web'),
  '@x/session-next': pkg('next'),
  '@x/session-redis': pkg('redis'),
  '@x/session-postgres': pkg('postgres'),
  '@x/session-conformance-tests': pkg('conformance-tests'),
}

export const sharedConfig = defineConfig({
  resolve: { alias },
  test: {
    testTimeout: 20_000,
    hookTimeout: 20_000,
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'] },
  },
})
