// `koa2` is Koa 2 installed under another name for the tests; @types/koa describes both closely enough.
declare module 'koa2' {
  import Koa from 'koa'
  export default Koa
}
