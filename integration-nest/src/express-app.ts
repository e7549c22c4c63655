// A Nest 11 app on Express, written as the Express README's NestJS section shows.
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
import type { NestExpressApplication } from '@nestjs/platform-express'
import { type SessionEvent, session, type Session as UserSession } from '@x/session-express'
import { getSession } from '@x/session-express/context'
import type { NextFunction, Request, Response } from 'express'
import { map, merge, type Observable, of, Subject, take } from 'rxjs'
import { CapturingLogger } from './log.js'

declare module '@x/session-express' {
  interface SessionData {
    user: string
    visits: number
  }
}

@Injectable()
class SignedIn implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    return context.switchToHttp().getRequest<Request>().session.user !== undefined
  }
}

@Injectable()
class Profile {
  user(): string | null {
    return getSession().user ?? null
  }
}

class WhoMiddleware implements NestMiddleware {
  use(req: Request, res: Response, next: NextFunction): void {
    res.setHeader('x-session-user', req.session.user ?? '')
    next()
  }
}

@Controller()
class AuthController {
  /** Tells the open event stream to change its session: the client says when it got its first event. */
  private readonly poke = new Subject<void>()

  constructor(private readonly profile: Profile) {}

  @Sse('events')
  events(@Session() session: UserSession): Observable<MessageEvent> {
    // Made before the stream's head: Express commits the session as the head is written.
    session.visits = (session.visits ?? 0) + 1
    const changed = this.poke.pipe(
      take(1),
      map(() => {
        // The head is out by now: this throws ERR_SESSION_RESPONSE_SENT.
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

export async function startExpressApp(secret: string): Promise<RunningApp> {
  const events: SessionEvent[] = []
  const logger = new CapturingLogger()
  const app = await NestFactory.create<NestExpressApplication>(AppModule, { logger })
  app.use(session({ secret, onEvent: (event) => events.push(event) }))
  await app.listen(0, '127.0.0.1')
  const { port } = app.getHttpServer().address() as { port: number }
  return { url: `http://127.0.0.1:${port}`, events, logger, close: () => app.close() }
}
