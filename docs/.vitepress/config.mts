import { existsSync, readFileSync } from 'node:fs'
import { defineConfig } from 'vitepress'

// Written by typedoc (`pnpm run api`) before every dev and build run.
const apiSidebar = new URL('../api/typedoc-sidebar.json', import.meta.url)
const api = existsSync(apiSidebar) ? JSON.parse(readFileSync(apiSidebar, 'utf8')) : []

export default defineConfig({
  title: '@x/session',
  description:
    'Sealed sessions for Express, Fastify, Koa, Hono, Next.js and any Fetch handler, held to one conformance suite.',
  // Served from a sub-path (GitHub Pages): DOCS_BASE=/x-session/ pnpm docs:build
  base: process.env.DOCS_BASE ?? '/',
  cleanUrls: true,
  lastUpdated: false,
  // Dead internal links fail the build (VitePress's default): kept explicit, as a check we rely on.
  ignoreDeadLinks: false,
  themeConfig: {
    search: { provider: 'local' },
    nav: [
      { text: 'Guide', link: '/guide/getting-started' },
      { text: 'Concepts', link: '/concepts/stores' },
      { text: 'Security', link: '/security' },
      { text: 'Recipes', link: '/recipes/login-logout' },
      { text: 'API', link: '/api/' },
    ],
    sidebar: [
      {
        text: 'Getting started',
        items: [
          { text: 'Overview and options', link: '/guide/getting-started' },
          { text: 'Express', link: '/guide/express' },
          { text: 'Fastify', link: '/guide/fastify' },
          { text: 'Koa', link: '/guide/koa' },
          { text: 'Hono', link: '/guide/hono' },
          { text: 'Fetch handlers (Bun, Deno, Workers, SvelteKit, Remix)', link: '/guide/web' },
          { text: 'Next.js', link: '/guide/next' },
          { text: 'NestJS', link: '/guide/nestjs' },
          { text: 'Redis and Valkey', link: '/guide/redis' },
          { text: 'PostgreSQL', link: '/guide/postgres' },
          { text: 'express-session (connect) stores', link: '/guide/connect-stores' },
        ],
      },
      {
        text: 'Moving from another library',
        items: [
          { text: 'Adopting live sessions', link: '/guide/adopt' },
          { text: 'Overview', link: '/migrating/' },
          { text: 'From express-session', link: '/migrating/express-session' },
          { text: 'From iron-session', link: '/migrating/iron-session' },
          { text: 'From koa-session', link: '/migrating/koa-session' },
          { text: 'From @fastify/session', link: '/migrating/fastify-session' },
          { text: 'From hono-sessions', link: '/migrating/hono-sessions' },
        ],
      },
      {
        text: 'Concepts',
        items: [
          { text: 'Stores', link: '/concepts/stores' },
          { text: 'When a cookie is sent', link: '/concepts/emission' },
          { text: 'Expiry', link: '/concepts/expiry' },
          { text: 'Key rotation', link: '/concepts/rotation' },
          { text: 'Revocations', link: '/concepts/revocations' },
          { text: 'Errors and events', link: '/concepts/errors-and-events' },
        ],
      },
      { text: 'Security model', link: '/security' },
      {
        text: 'Recipes',
        items: [
          { text: 'Log in and log out', link: '/recipes/login-logout' },
          { text: 'Remember me', link: '/recipes/remember-me' },
          { text: 'Log out everywhere', link: '/recipes/log-out-everywhere' },
          { text: 'Passport', link: '/recipes/passport' },
          { text: 'WebSockets', link: '/recipes/websockets' },
          { text: 'Mobile apps: header transport', link: '/recipes/header-transport' },
          { text: 'Rotating keys', link: '/recipes/key-rotation' },
          { text: 'Two sessions on one app', link: '/recipes/two-sessions' },
        ],
      },
      {
        text: 'Extending',
        items: [
          { text: 'Writing an adapter', link: '/extending/adapter' },
          { text: 'Writing a store', link: '/extending/store' },
        ],
      },
      { text: 'Inspecting a session: the CLI', link: '/guide/inspecting' },
      { text: 'Benchmark', link: '/benchmark' },
      { text: 'API reference', link: '/api/', collapsed: true, items: api },
    ],
    socialLinks: [{ icon: 'github', link: 'https://github.com/x-session/x-session' }],
  },
})
