import { createHandler } from '../app.js'

declare const Deno: {
  args: string[]
  serve(
    options: { hostname: string; port: number; onListen?: () => void },
    handler: (request: Request) => Response | Promise<Response>,
  ): unknown
}

Deno.serve({ hostname: '127.0.0.1', port: Number(Deno.args[0]), onListen() {} }, createHandler())
