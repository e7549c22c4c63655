/**
 * Core's internal sealer (Fe26.2 with keys derived once), which the public API does not export.
 * Taken from `@x/session-core/internal` once the package exports it; until then from core's
 * TypeScript source through tsx, and the report says which.
 */
export async function loadSealer() {
  try {
    const mod = await import('@x/session-core/internal')
    if (typeof mod.createSealer === 'function') {
      return { createSealer: mod.createSealer, source: '@x/session-core/internal' }
    }
  } catch (error) {
    if (error?.code !== 'ERR_PACKAGE_PATH_NOT_EXPORTED' && error?.code !== 'ERR_MODULE_NOT_FOUND') throw error
  }
  const { tsImport } = await import('tsx/esm/api')
  const url = new URL('../../packages/core/src/internal/sealer.ts', import.meta.url)
  const mod = await tsImport(url.href, import.meta.url)
  return {
    createSealer: mod.createSealer,
    source: 'packages/core/src/internal/sealer.ts through tsx (no @x/session-core/internal export yet)',
  }
}
