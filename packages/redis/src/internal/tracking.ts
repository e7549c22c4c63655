import { SessionError, SessionErrorCode } from '@x/session-core'

/** The channel Redis publishes invalidations on for a RESP2 connection that tracking redirects to. */
const CHANNEL = '__redis__:invalidate'
/** The name the tracking connection gives itself, so `CLIENT LIST` shows what it is. */
export const TRACKING_CLIENT_NAME = 'x-session-near-cache'

export interface TrackingHandlers {
  /** Keys Redis says changed; `null` when Redis dropped everything (FLUSHALL, FLUSHDB). */
  invalidate(keys: string[] | null): void
  /** Invalidations are flowing: every change from now on will be reported. */
  up(): void
  /** Invalidations may have been missed from this moment on. */
  down(): void
}

export interface TrackingOptions {
  /** Only keys that start with this are reported. */
  prefix: string
  /** How often the connection is checked, and how long a check may take, in milliseconds. */
  heartbeatMs: number
}

export interface Tracking {
  /**
   * Resolves true once every invalidation Redis queued for this process before this call has been
   * handled: a PING sent now on the tracking connection, answered after them (one connection
   * delivers in order). Concurrent calls share one PING. False when tracking is not up, or the
   * PING failed.
   */
  sync(): Promise<boolean>
  /** Ends the tracking connection for good. */
  close(): Promise<void>
}

/** What this module needs of a connection, whichever client made it. */
interface Connection {
  connect(): Promise<void>
  command(args: string[]): Promise<unknown>
  subscribe(onMessage: (payload: unknown) => void): Promise<void>
  ping(): Promise<unknown>
  onClose(listener: () => void): void
  destroy(): void
}

interface Source {
  /** A new, unconnected connection to the same server, reconnecting never on its own. */
  open(): Connection
  /** Calls `listener` when the app's own client is closed for good. */
  onEnd(listener: () => void): void
  /** Prepended to every key by the client itself (ioredis `keyPrefix`). */
  keyPrefix: string
}

/**
 * Keeps one connection of its own subscribed to Redis' invalidations of every key under
 * `prefix` (`CLIENT TRACKING ... BCAST PREFIX`, redirected to itself, RESP2), whoever writes the
 * key: this process's client, another app process, or redis-cli. Broadcast mode tracks keys by
 * prefix, not by what a connection read, so the app's own client is never reconfigured and reads
 * may go through any connection. The connection reconnects by this module's own loop: a client's
 * automatic reconnect would resubscribe without re-enabling tracking, and the cache must hear of
 * every gap (`down`) before it could trust anything again (`up`).
 */
export function startTracking(
  client: unknown,
  options: TrackingOptions,
  handlers: TrackingHandlers,
): Tracking {
  const source = sourceOf(client)
  const prefix = source.keyPrefix + options.prefix
  let current: Connection | undefined
  let healthy = false
  let closed = false
  let attempt = 0
  let retry: NodeJS.Timeout | undefined
  let pinging = false

  const lost = (connection: Connection) => {
    if (connection !== current) return
    current = undefined
    connection.destroy()
    if (healthy) {
      healthy = false
      handlers.down()
    }
    // A read waiting on this connection's PING reads from Redis instead of waiting for a timeout.
    for (const batch of [...inflight]) finish(batch, false)
    if (closed) return
    // 50 ms, doubling up to 5 s: a Redis restart is met quickly, a long outage costs little.
    const delay = Math.min(5000, 50 * 2 ** Math.min(attempt++, 7))
    retry = setTimeout(open, delay)
    retry.unref()
  }

  const open = () => {
    retry = undefined
    if (closed) return
    let connection: Connection
    try {
      connection = source.open()
    } catch {
      // A client that cannot make such a connection: the cache stays bypassed, and it tries again.
      retry = setTimeout(open, Math.min(5000, 50 * 2 ** Math.min(attempt++, 7)))
      retry.unref()
      return
    }
    current = connection
    connection.onClose(() => lost(connection))
    establish(connection).then(
      () => {
        if (connection !== current) return
        attempt = 0
        healthy = true
        handlers.up()
      },
      () => lost(connection),
    )
  }

  const establish = async (connection: Connection) => {
    await connection.connect()
    const id = await connection.command(['CLIENT', 'ID'])
    await connection.command(['CLIENT', 'SETNAME', TRACKING_CLIENT_NAME])
    await connection.command(['CLIENT', 'TRACKING', 'ON', 'REDIRECT', String(id), 'BCAST', 'PREFIX', prefix])
    await connection.subscribe((payload) => {
      if (connection !== current) return
      if (!Array.isArray(payload)) return handlers.invalidate(null)
      const keys: string[] = []
      for (const key of payload) {
        const name = typeof key === 'string' ? key : Buffer.isBuffer(key) ? key.toString('utf8') : undefined
        if (name?.startsWith(source.keyPrefix)) keys.push(name.slice(source.keyPrefix.length))
      }
      handlers.invalidate(keys)
    })
  }

  // A connection that is gone without a word (a dropped route, a stopped VM) delivers nothing and
  // reports no error: without an answer to a ping within one beat, it is treated as lost.
  const heartbeat = setInterval(() => {
    const connection = current
    if (!connection || !healthy || pinging) return
    pinging = true
    let timer: NodeJS.Timeout | undefined
    const late = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error('no answer')), options.heartbeatMs)
    })
    Promise.race([connection.ping(), late])
      .catch(() => lost(connection))
      .finally(() => {
        clearTimeout(timer)
        pinging = false
      })
  }, options.heartbeatMs)
  heartbeat.unref()

  // Callers waiting for the next PING, and the batches whose PING is on its way. A caller needs a
  // PING sent after it came, so it joins the next batch; batches do not wait for each other.
  let queued: Array<(ok: boolean) => void> = []
  const inflight = new Set<Array<(ok: boolean) => void>>()
  let scheduled = false
  // Sent on the next turn of the event loop rather than at once, so the reads that a turn of
  // requests starts share one PING: with 10 reads at a time, one PING per read cost 27 µs of CPU
  // per read and one per turn 5 µs (node-redis v5, Node 20, bench/near-cache-cpu.mjs). A batch
  // does not wait for the PING before it to be answered: waiting made a read take up to two round
  // trips: at 10 connections Fastify served 28,660 strict reads/s with the server 90% busy, and
  // 30,225 with it 95% busy once batches overlap (one PING per 3.3 reads instead of 5.6).
  const flushSync = () => {
    scheduled = false
    const connection = current
    const batch = queued
    queued = []
    if (!connection || !healthy) {
      for (const done of batch) done(false)
      return
    }
    inflight.add(batch)
    connection.ping().then(
      () => finish(batch, connection === current && healthy),
      () => finish(batch, false),
    )
  }
  /** Settles a batch once: by its PING's answer, or by the loss of its connection, whichever is first. */
  const finish = (batch: Array<(ok: boolean) => void>, ok: boolean) => {
    if (!inflight.delete(batch)) return
    for (const done of batch) done(ok)
  }
  const sync = () =>
    new Promise<boolean>((resolve) => {
      queued.push(resolve)
      if (!scheduled) {
        scheduled = true
        setImmediate(flushSync)
      }
    })

  const close = async () => {
    if (closed) return
    closed = true
    clearInterval(heartbeat)
    if (retry) clearTimeout(retry)
    if (current) lost(current)
  }
  source.onEnd(() => void close())
  open()
  return { sync, close }
}

type Listener = (...args: unknown[]) => void
interface Emitter {
  on?(event: string, listener: Listener): unknown
  once?(event: string, listener: Listener): unknown
}

interface IoRedisDuplicable extends Emitter {
  duplicate(overrides: Record<string, unknown>): IoRedisConnection
  options?: { keyPrefix?: string }
  isCluster?: boolean
}
interface IoRedisConnection extends Emitter {
  on(event: string, listener: Listener): unknown
  connect(): Promise<unknown>
  call(command: string, ...args: string[]): Promise<unknown>
  subscribe(channel: string): Promise<unknown>
  ping(): Promise<unknown>
  disconnect(): void
}

interface NodeRedisDuplicable extends Emitter {
  duplicate(overrides: Record<string, unknown>): NodeRedisConnection
  options?: { socket?: Record<string, unknown> }
  masters?: unknown
}
interface NodeRedisConnection {
  on(event: string, listener: Listener): unknown
  connect(): Promise<unknown>
  sendCommand(args: string[]): Promise<unknown>
  subscribe(channel: string, listener: (message: unknown) => void, bufferMode: boolean): Promise<unknown>
  ping(): Promise<unknown>
  destroy(): void
}

/** What to do when each app client ends for good: one 'end' listener per client, whatever the count of stores. */
const endListeners = new WeakMap<object, Array<() => void>>()

/**
 * Calls `listener` once `client` emits 'end'. An app may make a store per prefix on one client:
 * a listener each would pass Node's limit of 10 and print a MaxListenersExceededWarning.
 */
function onClientEnd(client: Emitter, listener: () => void): void {
  if (typeof client.once !== 'function') return
  let listeners = endListeners.get(client)
  if (!listeners) {
    const all: Array<() => void> = []
    listeners = all
    endListeners.set(client, all)
    client.once('end', () => {
      // A client connected again afterwards is met afresh by the stores made from then on.
      endListeners.delete(client)
      for (const end of all) end()
    })
  }
  listeners.push(listener)
}

function sourceOf(client: unknown): Source {
  const c = client as Partial<IoRedisDuplicable & NodeRedisDuplicable & { defineCommand: unknown }> | null
  if (c?.isCluster === true || (c && 'masters' in c)) {
    throw new SessionError(
      SessionErrorCode.INVALID_OPTION,
      '@x/session-redis: `nearCache` needs a standalone or Sentinel client; on a Redis Cluster each node would need its own tracking connection, which this store does not keep',
    )
  }
  if (!c || typeof c.duplicate !== 'function') {
    throw new SessionError(
      SessionErrorCode.INVALID_OPTION,
      '@x/session-redis: `nearCache` needs a client with `duplicate()` (node-redis v5 createClient, or an ioredis Redis) to open its tracking connection',
    )
  }
  const onEnd = (listener: () => void) => onClientEnd(c, listener)
  if (typeof c.defineCommand === 'function') {
    const io = c as IoRedisDuplicable
    return {
      keyPrefix: io.options?.keyPrefix ?? '',
      onEnd,
      open: () => ioRedisConnection(io),
    }
  }
  const node = c as NodeRedisDuplicable
  return { keyPrefix: '', onEnd, open: () => nodeRedisConnection(node) }
}

function ioRedisConnection(client: IoRedisDuplicable): Connection {
  const connection = client.duplicate({
    lazyConnect: true,
    autoResubscribe: false,
    retryStrategy: () => null,
    reconnectOnError: () => false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    keyPrefix: '',
  })
  // Errors end in 'close'; without a listener ioredis would print them.
  connection.on('error', () => {})
  return {
    connect: async () => {
      await connection.connect()
    },
    command: ([name = '', ...args]) => connection.call(name, ...args),
    subscribe: async (onMessage) => {
      connection.on('messageBuffer', (channel, payload) => {
        if (String(channel) === CHANNEL) onMessage(payload)
      })
      await connection.subscribe(CHANNEL)
    },
    ping: () => connection.ping(),
    onClose: (listener) => connection.on('close', listener),
    destroy: () => connection.disconnect(),
  }
}

function nodeRedisConnection(client: NodeRedisDuplicable): Connection {
  const connection = client.duplicate({
    // RESP2, where a redirected invalidation is a Pub/Sub message; the app's client may be RESP3
    // with options that RESP2 refuses.
    RESP: 2,
    socket: { ...client.options?.socket, reconnectStrategy: false },
    disableOfflineQueue: true,
    clientSideCache: undefined,
    emitInvalidate: undefined,
    maintNotifications: 'disabled',
  })
  let ended = false
  const listeners: Array<() => void> = []
  const end = () => {
    if (ended) return
    ended = true
    for (const listener of listeners) listener()
  }
  connection.on('error', end)
  connection.on('end', end)
  return {
    connect: async () => {
      await connection.connect()
    },
    command: (args) => connection.sendCommand(args),
    subscribe: async (onMessage) => {
      await connection.subscribe(CHANNEL, onMessage, true)
    },
    ping: () => connection.ping(),
    onClose: (listener) => listeners.push(listener),
    destroy: () => {
      try {
        connection.destroy()
      } catch {
        // Already closed.
      }
    },
  }
}
