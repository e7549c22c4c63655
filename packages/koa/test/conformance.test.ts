import { describeAdapterConformance } from '@x/session-conformance-tests'
import Koa from 'koa'
import Koa2 from 'koa2'
import { vi } from 'vitest'
import { postgresStoreCases } from '../../postgres/test/store-cases.js'
import { serverStoreCases } from '../../redis/test/store-cases.js'
import { koaHarness } from './harness.js'

// The published suite must pass at vitest's own default timeouts, as third-party CI runs it.
vi.setConfig({ testTimeout: 5_000, hookTimeout: 10_000 })

// Each suite disposes of its own store cases (and their Redis and PostgreSQL connections) when it ends.
describeAdapterConformance(koaHarness('koa 3', Koa), {
  stores: [...(await serverStoreCases()), ...(await postgresStoreCases())],
})
describeAdapterConformance(koaHarness('koa 2', Koa2), {
  stores: [...(await serverStoreCases()), ...(await postgresStoreCases())],
})
