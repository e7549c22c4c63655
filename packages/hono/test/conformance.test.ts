import { describeAdapterConformance } from '@x/session-conformance-tests'
import { honoHarness } from './harness.js'

describeAdapterConformance(honoHarness)
