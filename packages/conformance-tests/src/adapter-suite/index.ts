import { memoryStore } from '@x/session-core'
import { afterAll, beforeAll, describe } from 'vitest'
import type { AdapterHarness, AdapterSuiteOptions, StoreCase } from '../types.js'
import { defineBeyondRequestCases } from './beyond-request.js'
import { defineAttributeCases, defineChunkingCases } from './cookie-syntax.js'
import { defineEmissionCases } from './emission.js'
import { defineExpiryCases } from './expiry.js'
import { defineFlashCases } from './flash.js'
import { defineHeaderCases } from './header-transport.js'
import { defineKeyCases } from './keys.js'
import { defineLifecycleCases, defineRevocationCases, defineTwoSessionCases } from './lifecycle.js'
import { type Fixture, lacking, type Mode, startFixture, type Transport } from './shared.js'
import { defineStoreFailureCases, defineUserSessionCases } from './stores.js'
import { defineTamperCases } from './tamper.js'

// One file per section of CONFORMANCE.md; this one only orders them. A failing case's name starts
// with its section (`emission`, `expiry`, ...), which names the file that holds it.

/**
 * The adapter conformance suite: every CONFORMANCE.md line an adapter can show over real HTTP,
 * run with the cookie store and with each server store given (default: the memory store).
 */
export function describeAdapterConformance(
  harness: AdapterHarness,
  suiteOptions: AdapterSuiteOptions = {},
): void {
  const stores: readonly StoreCase[] = suiteOptions.stores ?? [
    { name: 'memory store', create: (clock) => memoryStore({ clock }) },
  ]
  const modes: Mode[] = [
    { name: 'cookie store', store: undefined },
    ...stores.map((store) => ({ name: store.name, store })),
  ]
  for (const mode of modes) {
    describe(`${harness.name} conformance (${mode.name})`, () => {
      defineCases(harness, mode, suiteOptions)
      // Declared unsupported, only the lifecycle cases are collected (L1 runs, expected to fail):
      // the other groups would be left empty, which vitest reports as a failure.
      const noHeader = harness.unsupported?.headerTransport !== undefined
      lacking(
        harness,
        'headerTransport',
        'L1:',
      )('header transport', () => {
        defineTransportCases(harness, mode, 'header', noHeader)
        if (!noHeader) defineHeaderCases(harness, mode)
      })
      if (mode.store?.dispose) afterAll(() => mode.store?.dispose?.())
    })
  }
}

/**
 * Emission and lifecycle: the cases that hold whichever way the token travels, run over the cookie
 * and over the header transport.
 */
function defineTransportCases(
  harness: AdapterHarness,
  mode: Mode,
  transport: Transport,
  lifecycleOnly = false,
): void {
  let f: Fixture
  beforeAll(async () => {
    f = await startFixture(harness, mode, {}, [], false, transport)
  })
  afterAll(() => f?.server.close())

  if (!lifecycleOnly) defineEmissionCases(harness, mode, transport, () => f)
  defineLifecycleCases(harness, mode, transport, () => f)
  if (!lifecycleOnly) defineFlashCases(() => f)
}

function defineCases(harness: AdapterHarness, mode: Mode, suiteOptions: AdapterSuiteOptions): void {
  let f: Fixture
  beforeAll(async () => {
    f = await startFixture(harness, mode)
  })
  afterAll(() => f?.server.close())

  defineTransportCases(harness, mode, 'cookie')
  defineBeyondRequestCases(harness, mode, () => f)
  defineExpiryCases(harness, mode, () => f)
  defineTamperCases(harness, mode, suiteOptions, () => f)
  defineChunkingCases(mode, () => f)
  defineKeyCases(harness, mode)
  defineRevocationCases(harness, mode)
  defineUserSessionCases(harness, mode)
  defineTwoSessionCases(harness, mode, () => f)
  defineAttributeCases(harness, mode)
  defineStoreFailureCases(harness, mode, () => f)
}
