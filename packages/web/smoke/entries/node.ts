import { serve } from '@hono/node-server'
import { createHandler } from '../app.js'

serve({ fetch: createHandler(), hostname: '127.0.0.1', port: Number(process.argv[2]) })
