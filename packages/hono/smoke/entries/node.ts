import { serve } from '@hono/node-server'
import { createApp } from '../app.js'

serve({ fetch: createApp().fetch, hostname: '127.0.0.1', port: Number(process.argv[2]) })
