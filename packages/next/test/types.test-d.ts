import { type GetSession, nextSession, type Session } from '@x/session-next'
import { expectTypeOf, test } from 'vitest'

declare module '@x/session-next' {
  interface SessionData {
    userId: string
  }
}

test('SessionData merged into @x/session-next types every accessor that names no other', () => {
  const getSession = nextSession({ secret: 'x'.repeat(32) })
  expectTypeOf(getSession).toEqualTypeOf<GetSession>()
  expectTypeOf<Awaited<ReturnType<GetSession>>['userId']>().toEqualTypeOf<string | undefined>()
  expectTypeOf(getSession).toBeCallableWith(new Request('http://x/'), new Response())
  expectTypeOf<Awaited<ReturnType<GetSession>>>().toMatchTypeOf<Session<{ userId: string }>>()
})

test('an accessor can name its own data', () => {
  const getCart = nextSession<{ items: string[] }>({ secret: 'x'.repeat(32) })
  expectTypeOf<Awaited<ReturnType<typeof getCart>>['items']>().toEqualTypeOf<string[] | undefined>()
})
