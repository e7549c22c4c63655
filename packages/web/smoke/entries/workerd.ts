import { createHandler } from '../app.js'

// workerd serves a module worker; the socket and port are in the generated capnp config.
export default { fetch: createHandler() }
