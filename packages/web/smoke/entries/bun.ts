import { createHandler } from '../app.js'

declare const Bun: {
  argv: string[]
  serve(options: {
    hostname: string
    port: number
    fetch: (request: Request) => Response | Promise<Response>
  }): unknown
}

// Bun.argv is [bun, script, ...args].
Bun.serve({ hostname: '127.0.0.1', port: Number(Bun.argv[2]), fetch: createHandler() })
