/**
 * One benchmark server: `node server.mjs '<spec json>'`. Prints `READY {"port":N}` once it
 * listens on 127.0.0.1, and closes (deleting any Redis keys it wrote) on SIGTERM.
 */
const spec = JSON.parse(process.argv[2])
if (spec.sessionBytes !== undefined) (await import('./lib/common.mjs')).setSessionBytes(spec.sessionBytes)
const { start } = await import(`./apps/${spec.framework}.mjs`)
const server = await start(spec)
process.stdout.write(`READY ${JSON.stringify({ port: server.port, pid: process.pid })}\n`)

let closing = false
process.on('SIGTERM', () => {
  if (closing) return
  closing = true
  const timer = setTimeout(() => process.exit(0), 3000)
  server.close().then(
    () => {
      clearTimeout(timer)
      process.exit(0)
    },
    (error) => {
      console.error(error)
      process.exit(1)
    },
  )
})
