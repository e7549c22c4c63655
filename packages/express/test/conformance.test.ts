import { describeAdapterConformance } from '@x/session-conformance-tests'
import express5 from 'express'
import express4 from 'express4'
import { vi } from 'vitest'
import { postgresStoreCases } from '../../postgres/test/store-cases.js'
import { serverStoreCases } from '../../redis/test/store-cases.js'
import { harness } from './harness.js'

// The published suite must pass at vitest's own default timeouts, as third-party CI runs it.
vi.setConfig({ testTimeout: 5_000, hookTimeout: 10_000 })

// Each suite disposes of its own store cases (and their Redis and PostgreSQL connections) when it ends.
describeAdapterConformance(harness(express5, 'express 5', true), {
  stores: [...(await serverStoreCases()), ...(await postgresStoreCases())],
})
describeAdapterConformance(harness(express4, 'express 4', false), {
  stores: [...(await serverStoreCases()), ...(await postgresStoreCases())],
})
