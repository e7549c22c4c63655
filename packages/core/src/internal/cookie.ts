// The session cookie's codec, by concern: its options (cookie-options.ts), reading it from a
// request (cookie-read.ts), writing and clearing it (cookie-write.ts).
export { type CookieOptions, validateCookieOptions } from './cookie-options.js'
export { readSessionCookie } from './cookie-read.js'
export { clearSessionCookie, serializeSessionCookie } from './cookie-write.js'
