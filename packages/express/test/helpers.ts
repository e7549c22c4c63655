import { listening, type RunningServer } from '@x/session-conformance-tests'
import type { Express } from 'express'

export const SECRET = 'express-adapter-tests-secret-0123456789abcdef'

export type Served = RunningServer

/** Serves `app` on 127.0.0.1 on an ephemeral port. */
export function serve(app: Express): Promise<Served> {
  return listening(app.listen(0, '127.0.0.1'))
}
