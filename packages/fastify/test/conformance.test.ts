import { describeAdapterConformance } from '@x/session-conformance-tests'
import { fastifyHarness } from './harness.js'

describeAdapterConformance(fastifyHarness)
