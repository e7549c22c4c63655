import { describe, expect } from 'vitest'
import { caseIt, type Fixture, q } from './shared.js'

/** Flash messages: read once, on a later request. */
export function defineFlashCases(get: () => Fixture): void {
  describe('flash messages', () => {
    caseIt(
      'flash: a message is read once, on a later request; adding and reading are changes, none is not',
      async () => {
        const f = get()
        const { jar } = await f.login({ user: 'ada' })
        const added = await f.post(q('/flash', { add: 'info', value: { text: 'saved' } }), jar)
        expect(f.emitted(added)).toHaveLength(1)
        jar.apply(added)
        const read = await f.post('/flash?take=info', jar)
        expect(read.json().messages).toEqual([{ text: 'saved' }])
        expect(f.emitted(read)).toHaveLength(1)
        jar.apply(read)
        const again = await f.post('/flash?take=info', jar)
        expect(again.json().messages).toEqual([])
        expect(f.emitted(again)).toEqual([])
        // Messages are not data: they never show among the session's keys.
        expect(again.json().data).toEqual({ user: 'ada' })
      },
    )

    caseIt(
      'flash: messages under one key come back in order, and other keys wait for their own read',
      async () => {
        const f = get()
        const jar = f.jar()
        jar.apply(await f.post(q('/flash', { add: 'info', value: 1 }), jar))
        jar.apply(await f.post(q('/flash', { add: 'info', value: 2 }), jar))
        jar.apply(await f.post(q('/flash', { add: 'error', value: 3 }), jar))
        const info = await f.post('/flash?take=info', jar)
        expect(info.json().messages).toEqual([1, 2])
        jar.apply(info)
        expect((await f.post('/flash?take=info', jar)).json().messages).toEqual([])
        expect((await f.post('/flash?take=error', jar)).json().messages).toEqual([3])
      },
    )

    caseIt('flash: reading messages of a new session creates no session', async () => {
      const f = get()
      const reply = await f.post('/flash?take=info')
      expect(reply.status).toBe(200)
      expect(reply.json()).toMatchObject({ isNew: true, messages: [] })
      expect(f.emitted(reply)).toEqual([])
    })
  })
}
