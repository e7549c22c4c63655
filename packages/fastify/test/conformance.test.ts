import { describeAdapterConformance } from '@x/session-conformance-tests'
import { postgresStoreCases } from '../../postgres/test/store-cases.js'
import { serverStoreCases } from '../../redis/test/store-cases.js'
import { fastifyHarness } from './harness.js'

describeAdapterConformance(fastifyHarness, {
  stores: [...(await serverStoreCases()), ...(await postgresStoreCases())],
})
