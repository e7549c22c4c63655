// A Nest 11 app as a user writes it after `npm install`: both platforms, each with its session
// registered the way the adapters' READMEs show. Compiled with tsc against the installed packages.
import 'reflect-metadata'
import { Controller, Get, Module, Session } from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import { ExpressAdapter, type NestExpressApplication } from '@nestjs/platform-express'
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify'
import { type Session as ExpressSession, session as expressSession } from '@x/session-express'
import { getSession } from '@x/session-express/context'
import fastifySession, { type Session as FastifySession } from '@x/session-fastify'
import { findSession } from '@x/session-fastify/context'

declare module '@x/session-fastify' {
  interface SessionData {
    user: string
  }
}
declare module '@x/session-express' {
  interface SessionData {
    user: string
  }
}

@Controller()
class FastifyController {
  @Get('me')
  me(@Session() session: FastifySession): { user: string | null } {
    return { user: session.user ?? findSession()?.user ?? null }
  }
}

@Controller()
class ExpressController {
  @Get('me')
  me(@Session() session: ExpressSession): { user: string | null } {
    return { user: session.user ?? getSession().user ?? null }
  }
}

@Module({ controllers: [FastifyController] })
class FastifyModule {}

@Module({ controllers: [ExpressController] })
class ExpressModule {}

export async function start(): Promise<void> {
  const secret = 'a-secret-of-at-least-32-characters-long'
  const onFastify = await NestFactory.create<NestFastifyApplication>(FastifyModule, new FastifyAdapter())
  await onFastify.register(fastifySession, { secret })
  // Registered on the adapter before the app exists, the session is there for Nest middleware too.
  const adapter = new FastifyAdapter()
  await adapter.register(fastifySession, { secret })
  const withMiddleware = await NestFactory.create<NestFastifyApplication>(FastifyModule, adapter)
  const onExpress = await NestFactory.create<NestExpressApplication>(ExpressModule, new ExpressAdapter())
  onExpress.use(expressSession({ secret }))
  await Promise.all([
    onFastify.listen(0, '127.0.0.1'),
    withMiddleware.listen(0, '127.0.0.1'),
    onExpress.listen(0, '127.0.0.1'),
  ])
}
