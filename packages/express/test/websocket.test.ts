import express5 from 'express'
import express4 from 'express4'
import { describe } from 'vitest'
import {
  nodeUpgradeRecipeCases,
  servingSockets,
} from '../../conformance-tests/test/support/node-upgrade-recipe.js'
import { memoryStore } from '../src/index.js'
import { SECRET } from './helpers.js'
import { websocketApp } from './websocket-app.js'

const ORIGIN = 'http://app.test'

describe.each([
  ['express 5', express5],
  ['express 4', express4],
])('%s: the README WebSocket recipe', (_name, express) => {
  nodeUpgradeRecipeCases({
    origin: ORIGIN,
    start(options) {
      const { app, wss, onUpgrade } = websocketApp(
        express,
        { secret: SECRET, store: memoryStore(), ...options },
        ORIGIN,
      )
      return servingSockets(app.listen(0, '127.0.0.1').on('upgrade', onUpgrade), wss)
    },
  })
})
