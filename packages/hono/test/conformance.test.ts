import { describeAdapterConformance } from '@x/session-conformance-tests'
import { vi } from 'vitest'
import { postgresStoreCases } from '../../postgres/test/store-cases.js'
import { serverStoreCases } from '../../redis/test/store-cases.js'
import { honoHarness } from './harness.js'

// The published suite must pass at vitest's own default timeouts, as third-party CI runs it.
vi.setConfig({ testTimeout: 5_000, hookTimeout: 10_000 })

describeAdapterConformance(honoHarness, {
  stores: [...(await serverStoreCases()), ...(await postgresStoreCases())],
})
