/**
 * A response that sets or clears a session cookie must not be stored by shared caches: one user's
 * cookie would be handed to the next. Keeps what the app asked for except what makes it shared.
 */
export function privateCacheControl(existing: string | undefined): string {
  if (!existing) return 'private, no-store'
  const kept: string[] = []
  let isPrivate = false
  for (const raw of existing.split(',')) {
    const directive = raw.trim()
    const name = directive.split('=', 1)[0]!.toLowerCase()
    if (name === 'public' || name === 's-maxage' || name === '') continue
    if (name === 'private' || name === 'no-store') isPrivate = true
    kept.push(directive)
  }
  if (!isPrivate) kept.unshift('private')
  return kept.join(', ')
}
