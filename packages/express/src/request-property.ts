import type { SessionCycle } from '@x/session-core'
import type { Request } from 'express'
import type { SessionData } from './index.js'

type Slots = Record<string | symbol, unknown>

/**
 * `req[property]` as an accessor on the request's prototype, so that `req.session = null`
 * (cookie-session's logout) reaches core the moment it is written: Express has no point after the
 * handler at which to look, and a response already on its way must carry the clearing. Defined once
 * per prototype (an app's, or a sub-app's), so a request pays two symbol-keyed slots, as many
 * properties as the plain data property it replaces and the cycle it carried already.
 */
/**
 * One accessor per property name, shared by every middleware that exposes a session there (one
 * per router, say): each installs it on the same request prototype, so a second one of its own
 * would replace the first and leave that middleware's requests without a session.
 */
const exposures = new Map<string, ReturnType<typeof createExposure>>()

export function exposure(property: string) {
  let found = exposures.get(property)
  if (found === undefined) {
    found = createExposure(property)
    exposures.set(property, found)
  }
  return found
}

function createExposure(property: string) {
  const slot = Symbol(`session (${property})`)
  const kCycle = Symbol(`session cycle (${property})`)
  const prototypes = new WeakSet<object>()
  const install = (proto: object) => {
    prototypes.add(proto)
    Object.defineProperty(proto, property, {
      configurable: true,
      enumerable: true,
      get(this: Slots) {
        return this[slot]
      },
      set(this: Slots, value: unknown) {
        const cycle = this[kCycle] as SessionCycle<SessionData> | undefined
        // A request this middleware never saw: a plain property, as without the accessor.
        if (cycle === undefined) {
          Object.defineProperty(this, property, {
            configurable: true,
            enumerable: true,
            writable: true,
            value,
          })
          return
        }
        cycle.assign(value)
        this[slot] = value
      },
    })
  }
  return {
    slot,
    attach(req: Request, cycle: SessionCycle<SessionData>): Slots {
      const proto = Object.getPrototypeOf(req) as object
      if (!prototypes.has(proto)) install(proto)
      const slots = req as unknown as Slots
      slots[kCycle] = cycle
      return slots
    },
  }
}
