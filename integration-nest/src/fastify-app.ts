// A Nest 11 app on Fastify, written as the Fastify README's NestJS section shows.
import 'reflect-metadata'
import {
  BadRequestException,
  type CanActivate,
  Controller,
  type ExecutionContext,
  Get,
  Injectable,
  type MessageEvent,
  type MiddlewareConsumer,
  Module,
  type NestMiddleware,
  Post,
  Session,
  Sse,
  UseGuards,
} from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify'
import session, {
  type FastifySessionOptions,
  type SessionEvent,
  type Session as UserSession,
} from '@x/session-fastify'
import { findSession, getSession } from '@x/session-fastify/context'
import type { FastifyRequest } from 'fastify'
import { map, merge, type Observable, of, Subject, take } from 'rxjs'
import { CapturingLogger } from './log.js'

declare module '@x/session-fastify' {
  interface SessionData {
    user: string
    visits: number
  }
}

@Injectable()
class SignedIn implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    return context.switchToHttp().getRequest<FastifyRequest>().session.user !== undefined
  }
}

/** A provider that reads the session without being handed it. */
@Injectable()
class Profile {
  user(): string | null {
    return getSession().user ?? null
  }
}

/** Nest middleware sees the raw request: the session is found through the request's context. */
class WhoMiddleware implements NestMiddleware {
  use(_req: unknown, res: { setHeader(name: string, value: string): void }, next: () => void): void {
    res.setHeader('x-session-user', findSession()?.user ?? '')
    next()
  }
}

@Controller()
class AuthController {
  /** Tells the open event stream to change its session: the client says when it got its first event. */
  private readonly poke = new Subject<void>()

  constructor(private readonly profile: Profile) {}

  @Post('login')
  async login(@Session() session: UserSession): Promise<{ id: string }> {
    await session.regenerate()
    session.user = 'ada'
    return { id: session.id }
  }

  /** Unguarded: the id of whatever session the request has. */
  @Get('id')
  id(@Session() session: UserSession): { id: string } {
    return { id: session.id }
  }

  @Get('me')
  @UseGuards(SignedIn)
  me(@Session() session: UserSession): { user: string | null; visits: number | null; id: string } {
    return { user: this.profile.user(), visits: session.visits ?? null, id: session.id }
  }

  @Post('logout')
  async logout(@Session() session: UserSession): Promise<{ ok: true }> {
    await session.destroy()
    return { ok: true }
  }

  @Post('visit-then-fail')
  visitThenFail(@Session() session: UserSession): never {
    session.visits = (session.visits ?? 0) + 1
    throw new BadRequestException('after a change')
  }

  @Sse('events')
  events(@Session() session: UserSession): Observable<MessageEvent> {
    // Made before the stream's head goes out, which Nest writes on reply.raw: never sent.
    session.visits = (session.visits ?? 0) + 1
    const changed = this.poke.pipe(
      take(1),
      map(() => {
        // The head is out by now: this throws ERR_SESSION_RESPONSE_SENT, which Nest logs and
        // turns into an `error` event.
        session.user = 'mallory'
        return { data: 'changed' }
      }),
    )
    return merge(of({ data: 'open' }), changed)
  }

  @Post('events/poke')
  pokeStream(): { ok: true } {
    this.poke.next()
    return { ok: true }
  }
}

@Module({ controllers: [AuthController], providers: [Profile, SignedIn] })
class AppModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(WhoMiddleware).forRoutes('*path')
  }
}

export interface RunningApp {
  url: string
  events: SessionEvent[]
  logger: CapturingLogger
  close(): Promise<void>
}

export async function startFastifyApp(secret: string): Promise<RunningApp> {
  const events: SessionEvent[] = []
  const logger = new CapturingLogger()
  const adapter = new FastifyAdapter()
  // FastifyAdapter.register() types its options loosely: `satisfies` checks them.
  const options = { secret, onEvent: (event) => events.push(event) } satisfies FastifySessionOptions
  // On the adapter, before the app exists: its onRequest hook then runs before Nest's middleware.
  await adapter.register(session, options)
  const app = await NestFactory.create<NestFastifyApplication>(AppModule, adapter, { logger })
  await app.listen(0, '127.0.0.1')
  const { port } = app.getHttpServer().address() as { port: number }
  return { url: `http://127.0.0.1:${port}`, events, logger, close: () => app.close() }
}
