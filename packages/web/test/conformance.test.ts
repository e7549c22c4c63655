import { describeAdapterConformance } from '@x/session-conformance-tests'
import { serverStoreCases } from '../../redis/test/store-cases.js'
import { webHarness } from './harness.js'

describeAdapterConformance(webHarness, { stores: await serverStoreCases() })
