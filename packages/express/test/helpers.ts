import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import type { Express } from 'express'

export const SECRET = 'express-adapter-tests-secret-0123456789abcdef'

export interface Served {
  url: string
  close(): Promise<void>
}

/** Serves `app` on 127.0.0.1 on an ephemeral port. */
export async function serve(app: Express): Promise<Served> {
  const server = app.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
