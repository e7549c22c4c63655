import Koa from 'koa'
import Koa2 from 'koa2'
import { describe } from 'vitest'
import {
  nodeUpgradeRecipeCases,
  servingSockets,
} from '../../conformance-tests/test/support/node-upgrade-recipe.js'
import { memoryStore } from '../src/index.js'
import { websocketApp } from './websocket-app.js'

const SECRET = 'koa-websocket-tests-secret-0123456789abcdef'
const ORIGIN = 'http://app.test'

describe.each([
  ['koa 3', Koa],
  ['koa 2', Koa2],
])('%s: the README WebSocket recipe', (_name, KoaClass) => {
  nodeUpgradeRecipeCases({
    origin: ORIGIN,
    userKey: 'userId',
    start(options) {
      const { app, wss, onUpgrade } = websocketApp(
        KoaClass,
        { secret: SECRET, store: memoryStore(), ...options },
        ORIGIN,
      )
      return servingSockets(app.listen(0, '127.0.0.1').on('upgrade', onUpgrade), wss)
    },
  })
})
