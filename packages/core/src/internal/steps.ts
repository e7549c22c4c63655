/**
 * The steps of one seal or unseal, written once for both backends: each backend result that is a
 * promise (Web Crypto) is yielded and its value sent back in; a synchronous backend (`node:crypto`)
 * never yields, so the whole operation is one call of `next()`.
 */
export type Steps<T> = Generator<Promise<unknown>, T, unknown>

export function runSync<T>(steps: Steps<T>): T {
  const step = steps.next()
  if (step.done !== true) throw new Error('a synchronous crypto backend returned a promise')
  return step.value
}

export async function runAsync<T>(steps: Steps<T>): Promise<T> {
  let step = steps.next()
  while (step.done !== true) {
    let value: unknown
    try {
      value = await step.value
    } catch (error) {
      step = steps.throw(error)
      continue
    }
    step = steps.next(value)
  }
  return step.value
}
