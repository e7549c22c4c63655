import { Jar, send } from '@x/session-conformance-tests'
import { createSessionManager, memoryStore, type SessionStore } from '@x/session-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type App, frameworks } from './apps.js'

const SECRET = 'cross-adapter-secret-0123456789-abcdefgh'
const names = Object.keys(frameworks)

/**
 * One secret, one store, four frameworks: a session written through any adapter loads, changes
 * and ends through every other one, so an app can move between frameworks or run several behind
 * one domain.
 */
for (const storeName of ['cookie store', 'memory store']) {
  describe(`cross-adapter sessions (${storeName})`, () => {
    const apps: Record<string, App> = {}
    beforeAll(async () => {
      const store: SessionStore | undefined = storeName === 'memory store' ? memoryStore() : undefined
      for (const name of names) {
        // Each app builds its own manager, as separate deployments would; only secret and store are shared.
        apps[name] = await frameworks[name]!({ manager: createSessionManager({ secret: SECRET, store }) })
      }
    })
    afterAll(async () => {
      for (const app of Object.values(apps)) await app.close()
    })

    for (const writer of names) {
      it(`a session written through ${writer} is read, changed and ended through every other adapter`, async () => {
        const jar = new Jar()
        jar.apply(
          await send(`${apps[writer]!.url}/write?user=ada&by=${writer}`, {
            method: 'POST',
            cookie: jar.header(),
          }),
        )
        for (const reader of names.filter((n) => n !== writer)) {
          const read = await send(`${apps[reader]!.url}/read`, { cookie: jar.header() })
          expect(read.json(), `${writer} -> ${reader}`).toMatchObject({ isNew: false, data: { user: 'ada' } })
          const changed = await send(`${apps[reader]!.url}/write?last=${reader}`, {
            method: 'POST',
            cookie: jar.header(),
          })
          jar.apply(changed)
          const back = await send(`${apps[writer]!.url}/read`, { cookie: jar.header() })
          expect(back.json().data, `${reader} -> ${writer}`).toMatchObject({ user: 'ada', last: reader })
        }
        const ender = names[(names.indexOf(writer) + 1) % names.length]!
        jar.apply(await send(`${apps[ender]!.url}/logout`, { method: 'POST', cookie: jar.header() }))
        for (const name of names) {
          expect((await send(`${apps[name]!.url}/read`, { cookie: jar.header() })).json().isNew).toBe(true)
        }
      })
    }
  })
}
