/** @module Deadline-bounded waiting on a condition, for tests over real I/O (never a fixed sleep). */

export async function until(condition: () => boolean | Promise<boolean>, { timeoutMs = 5_000, what = 'condition' }: { timeoutMs?: number; what?: string } = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await condition()) return
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}
