import { describeAdapterConformance } from '@x/session-conformance-tests'
import { postgresStoreCases } from '../../postgres/test/store-cases.js'
import { serverStoreCases } from '../../redis/test/store-cases.js'
import { honoHarness } from './harness.js'

describeAdapterConformance(honoHarness, {
  stores: [...(await serverStoreCases()), ...(await postgresStoreCases())],
})
