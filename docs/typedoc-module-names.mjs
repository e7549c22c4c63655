// @ts-check
import { Converter } from 'typedoc'

/**
 * Names each module of the API reference after the package and export path users import
 * (`@x/session-core/context`) instead of its folder (`core/src/context`).
 * @param {import('typedoc').Application} app
 */
export function load(app) {
  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    for (const module of context.project.children ?? []) {
      const match = /^([\w-]+)\/src(?:\/(\w+))?$/.exec(module.name)
      if (match) module.name = `@x/session-${match[1]}${match[2] ? `/${match[2]}` : ''}`
    }
  })
}
