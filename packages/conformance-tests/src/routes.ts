import type { ConformanceRoute, RouteContext, RouteResult } from './types.js'

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
      handler: (ctx) => {
        const cacheControl = ctx.query.get('cacheControl')
        if (cacheControl) ctx.setHeader('Cache-Control', cacheControl)
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
