// A Nest 11 app on Express, written as the Express README's NestJS section shows.
import 'reflect-metadata'
import {
  BadRequestException,
  type CanActivate,
  Controller,
  type ExecutionContext,
  Get,
  Injectable,
  type MiddlewareConsumer,
  Module,
  type NestMiddleware,
  Post,
  Session,
  UseGuards,
} from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import type { NestExpressApplication } from '@nestjs/platform-express'
import { type SessionEvent, session, type Session as UserSession } from '@x/session-express'
import { getSession } from '@x/session-express/context'
import type { NextFunction, Request, Response } from 'express'
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
