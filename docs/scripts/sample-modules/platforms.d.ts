// Stand-ins for modules the samples import that the docs do not install: the platforms of the
// Fetch adapter page (Bun, Deno, Workers, SvelteKit, React Router, Astro) and an app's own modules
// (a Next.js app's `@/lib/session`). What they export is typed `any`;
// the session API the samples call on them is checked against the packages' source.
declare module '@sveltejs/kit' {
  export type Handle = (input: {
    event: { request: Request; locals: Record<string, unknown> }
    resolve(event: unknown): Promise<Response>
  }) => Promise<Response>
}
declare module '$env/dynamic/private'
declare module 'react-router'
declare module 'virtual:react-router/server-build'
declare module 'astro:middleware' {
  export function defineMiddleware(
    handler: (
      context: { request: Request; locals: Record<string, unknown> },
      next: () => Promise<Response>,
    ) => Promise<Response>,
  ): unknown
}
declare module 'cloudflare:workers'
declare module '@/lib/session'
declare namespace Bun {
  interface Server {
    upgrade(request: Request, options?: { data?: unknown }): boolean
  }
  interface ServerWebSocket<T> {
    data: T
  }
  interface ServeOptions<T> {
    port?: number
    fetch(request: Request, server: Server): Response | undefined | Promise<Response | undefined>
    websocket?: { message(ws: ServerWebSocket<T>, message: string | Uint8Array): void | Promise<void> }
  }
  function serve<T = undefined>(options: ServeOptions<T>): unknown
  const env: Record<string, string | undefined>
}
declare const Deno: {
  serve(handler: (request: Request) => Response | Promise<Response>): unknown
  env: { get(name: string): string | undefined }
}
interface ImportMetaEnv {
  readonly SESSION_SECRET: string
}
interface ImportMeta {
  readonly env: ImportMetaEnv
}
// Next.js apps resolve with `"moduleResolution": "bundler"`; these samples with NodeNext.
declare module 'next/server' {
  export * from 'next/server.js'
}
