import { SessionError } from '@x/session-core'
import { getSession } from '@x/session-core/context'
import type {
  AnySession,
  ConformanceRoute,
  ConformanceSocketRoute,
  RouteContext,
  RouteResult,
} from './types.js'

/**
 * Lets a test hold a request inside its handler (after the session loaded) until the test says go:
 * how the suite makes a request slow without timers.
 */
export class Gate {
  #waiting = new Map<string, { entered: () => void; release: Promise<void>; open: () => void }>()
  #entered = new Map<string, Promise<void>>()

  /** Prepares gate `name`; returns a promise that resolves once a request waits at it. */
  arm(name: string): Promise<void> {
    let entered!: () => void
    let open!: () => void
    const release = new Promise<void>((resolve) => {
      open = resolve
    })
    const inside = new Promise<void>((resolve) => {
      entered = resolve
    })
    this.#waiting.set(name, { entered, release, open })
    this.#entered.set(name, inside)
    return inside
  }

  open(name: string): void {
    this.#waiting.get(name)?.open()
  }

  async wait(name: string): Promise<void> {
    const gate = this.#waiting.get(name)
    if (!gate) return
    gate.entered()
    await gate.release
  }
}

/** How a write route answers, from `?respond=`. */
function respond(ctx: RouteContext): RouteResult {
  const how = ctx.query.get('respond') ?? 'json'
  switch (how) {
    case 'redirect':
      return { type: 'redirect', location: '/read' }
    case 'throw':
      return { type: 'throw' }
    case 'stream':
      return { type: 'stream', chunks: ['first;', 'second;', 'third'], delayMs: 5 }
    default: {
      const status = how.startsWith('status-') ? Number(how.slice(7)) : 200
      return { type: 'json', body: view(ctx), status }
    }
  }
}

function view(ctx: RouteContext) {
  const { session } = ctx
  const key = ctx.query.get('key')
  return {
    id: session.id,
    isNew: session.isNew,
    data: session.toJSON(),
    value: key === null ? undefined : session.get(key),
    has: key === null ? undefined : session.has(key),
    expiresAt: session.expiresAt.getTime(),
  }
}

/** Applies `?set=<JSON object>` to the session: as properties, or with `?via=set` through `set()`. */
function write(ctx: RouteContext, target = ctx.session): void {
  const raw = ctx.query.get('set')
  if (raw === null) return
  const values = JSON.parse(raw) as Record<string, unknown>
  if (ctx.query.get('via') === 'set') {
    for (const key of Object.keys(values)) target.set(key, values[key])
  } else {
    Object.assign(target, values)
  }
}

export function conformanceRoutes(gate: Gate): ConformanceRoute[] {
  return [
    { method: 'GET', path: '/noop', handler: () => ({ type: 'json', body: { ok: true } }) },
    {
      method: 'GET',
      path: '/read',
      handler: (ctx) => ({ type: 'json', body: { ...view(ctx), same: ctx.session === ctx.sessionAgain } }),
    },
    {
      method: 'POST',
      path: '/write',
      handler: async (ctx) => {
        const gateName = ctx.query.get('gate')
        if (gateName) await gate.wait(gateName)
        write(ctx)
        return respond(ctx)
      },
    },
    {
      method: 'POST',
      path: '/push',
      handler: (ctx) => {
        const cart = ctx.session.cart as { items: unknown[] }
        cart.items.push(ctx.query.get('item'))
        return respond(ctx)
      },
    },
    {
      method: 'POST',
      path: '/regenerate',
      handler: async (ctx) => {
        await ctx.session.regenerate({ keep: ctx.query.get('keep') === '1' })
        write(ctx)
        return respond(ctx)
      },
    },
    {
      method: 'POST',
      path: '/destroy',
      handler: async (ctx) => {
        await ctx.session.destroy()
        // Writes after destroy() in the same request must not bring the session back (L4).
        write(ctx)
        return respond(ctx)
      },
    },
    {
      method: 'POST',
      path: '/assign-null',
      handler: (ctx) => {
        if (!ctx.assignNull) {
          return {
            type: 'json',
            body: { missing: 'RouteContext.assignNull() is not implemented by this harness' },
            status: 501,
          }
        }
        ctx.assignNull()
        return { type: 'json', body: { assigned: true } }
      },
    },
    {
      method: 'POST',
      path: '/touch',
      handler: (ctx) => {
        ctx.session.touch()
        return respond(ctx)
      },
    },
    {
      method: 'POST',
      path: '/app-cookie',
      handler: (ctx) => {
        const appCookies = ['app=1; Path=/', 'app2=2; Path=/; HttpOnly']
        if (ctx.query.get('order') === 'before') {
          ctx.setHeader('Set-Cookie', appCookies)
          write(ctx)
        } else {
          write(ctx)
          ctx.setHeader('Set-Cookie', appCookies)
        }
        return respond(ctx)
      },
    },
    {
      method: 'POST',
      path: '/cache',
      handler: async (ctx) => {
        const cacheControl = ctx.query.get('cacheControl')
        if (cacheControl) ctx.setHeader('Cache-Control', cacheControl)
        if (ctx.query.get('destroy') !== null) await ctx.session.destroy()
        write(ctx)
        return respond(ctx)
      },
    },
    {
      method: 'POST',
      path: '/bind',
      handler: (ctx) => {
        ctx.session.bindUser(ctx.query.get('user') ?? undefined)
        write(ctx)
        return respond(ctx)
      },
    },
    {
      method: 'POST',
      path: '/lifetime',
      handler: (ctx) => {
        // ?lifetime=<JSON of setLifetime()'s argument>, then ?set= as /write.
        ctx.session.setLifetime(JSON.parse(ctx.query.get('lifetime') ?? '{}'))
        write(ctx)
        return respond(ctx)
      },
    },
    {
      method: 'POST',
      path: '/flash',
      handler: (ctx) => {
        const add = ctx.query.get('add')
        const take = ctx.query.get('take')
        if (add !== null) ctx.session.flash(add, JSON.parse(ctx.query.get('value') ?? 'null'))
        const messages = take === null ? undefined : ctx.session.flash(take)
        return { type: 'json', body: { ...view(ctx), messages } }
      },
    },
    {
      method: 'POST',
      path: '/context',
      handler: async (ctx) => {
        const which = ctx.query.get('which') ?? undefined
        // Several hops through the event loop: promise jobs, a timer, an immediate.
        const found = await service(which)
        if (ctx.query.get('set') !== null) write(ctx, found)
        const expected = which === undefined ? ctx.session : ctx.sessions[which]
        return { type: 'json', body: { ...view(ctx), same: found === expected, user: found.get('user') } }
      },
    },
    {
      method: 'POST',
      path: '/two',
      handler: (ctx) => {
        const target = ctx.sessions[ctx.query.get('which') ?? 'session']
        if (!target) throw new Error('no such session property')
        write(ctx, target)
        return {
          type: 'json',
          body: Object.fromEntries(Object.entries(ctx.sessions).map(([k, s]) => [k, s.toJSON()])),
        }
      },
    },
  ]
}

/** Code far from the handler, as a service layer is: it finds the session through the async context. */
async function service(cookieName: string | undefined): Promise<AnySession> {
  await Promise.resolve()
  await new Promise((resolve) => setTimeout(resolve, 1))
  await new Promise((resolve) => setImmediate(resolve))
  return getSession<Record<string, unknown>>(cookieName) as AnySession
}

/** What one WebSocket message asks of the socket's session. */
interface SocketCommand {
  op: 'read' | 'write' | 'push' | 'destroy' | 'regenerate'
  /** Skip the `reload()` each command starts with. */
  stale?: boolean
  set?: Record<string, unknown>
}

/**
 * The suite's WebSocket endpoint. Each message is a JSON command; each reply the session's state
 * afterwards (`{ isNew, data }`), or `{ error: code }`. Every command starts with `reload()`, as a
 * socket handler should before relying on the session, so a logout over HTTP is seen.
 */
export function conformanceSockets(): ConformanceSocketRoute[] {
  return [
    {
      path: '/ws',
      async onMessage({ session }, message) {
        try {
          const command = JSON.parse(message) as SocketCommand
          if (!command.stale) await session.reload()
          switch (command.op) {
            case 'write':
              Object.assign(session, command.set)
              await session.save()
              break
            case 'push':
              ;(session.cart as { items: unknown[] }).items.push('ws')
              await session.save()
              break
            case 'destroy':
              await session.destroy()
              break
            case 'regenerate':
              await session.regenerate()
              break
          }
          return JSON.stringify({ isNew: session.isNew, data: session.toJSON() })
        } catch (error) {
          return JSON.stringify({ error: SessionError.is(error) ? error.code : String(error) })
        }
      },
    },
  ]
}
