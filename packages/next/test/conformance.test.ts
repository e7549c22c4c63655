import { describeAdapterConformance } from '@x/session-conformance-tests'
import { afterAll } from 'vitest'
import { nextHarness } from './harness.js'

// The App Router's own way, with the cookie store and a server store.
const viaCookies = nextHarness('cookies')
afterAll(() => viaCookies.close())
describeAdapterConformance(viaCookies)

// A Route Handler that holds its Request and Response: the cookie store only, as the store's
// behaviour does not depend on how the cookie travels.
const viaRequest = nextHarness('request')
afterAll(() => viaRequest.close())
describeAdapterConformance(viaRequest, { stores: [] })
