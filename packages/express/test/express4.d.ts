// `express4` is `npm:express@^4`: its API is typed here by the v5 types, which cover what the tests use.
declare module 'express4' {
  import express from 'express'
  export default express
}
