/**
 * @module Identity slots for durable producers, guarded by Web Locks.
 *
 * Approach: a producer named `chat` takes the lowest free slot `chat#0`, `chat#1`, … by requesting the lock
 * `samsa-producer:chat#<i>` with `{ ifAvailable: true }` and holds it for its lifetime. Why Web Locks: they are
 * per origin (so they cover every tab and worker sharing the IndexedDB database), are released by the browser when
 * the page goes away (a reload or a crash frees the slot, so the reloaded tab re-takes the same lowest slot and
 * resumes its own identity and outbox), and `ifAvailable` never waits. Two tabs therefore never write sequences of one
 * identity at the same time: their batches never interleave and never fence each other. A slot left by a closed
 * tab is picked up (outbox included) by the next producer that finds it free.
 *
 * Without `navigator.locks` (Node, old browsers) an in-process lock manager gives the same semantics within one
 * process. Tests inject their own `LockManagerLike`; to simulate a reload they give the new "page" a fresh one (the
 * old page's locks died with it).
 */

/** The subset of the Web Locks API used here (`navigator.locks` satisfies it). */
export interface LockManagerLike {
  request<T>(name: string, options: { ifAvailable: true }, callback: (lock: unknown) => Promise<T>): Promise<T>
}

/** Web Locks semantics (exclusive, ifAvailable) within one process. */
export function inProcessLockManager(): LockManagerLike {
  const held = new Set<string>()
  return {
    async request(name, _options, callback) {
      if (held.has(name)) return callback(null)
      held.add(name)
      try {
        return await callback({ name, mode: 'exclusive' })
      } finally {
        held.delete(name)
      }
    },
  }
}

let processLocks: LockManagerLike | null = null

/** `navigator.locks` when present, else one in-process manager shared by the whole process. */
export function defaultLockManager(): LockManagerLike {
  const locks = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks
  if (locks !== undefined && typeof locks.request === 'function') return locks
  return (processLocks ??= inProcessLockManager())
}

export interface IdentitySlot {
  /** The durable identity name: `${producerName}#${index}`. */
  readonly name: string
  readonly index: number
  /** Releases the lock (the producer closed). Idempotent. */
  release(): void
}

export const identityLockName = (slotName: string): string => `samsa-producer:${slotName}`

/** Takes the lowest free slot of `producerName` and holds it until `release()`. */
export async function acquireIdentitySlot(locks: LockManagerLike, producerName: string, maxSlots = 1024): Promise<IdentitySlot> {
  for (let index = 0; index < maxSlots; index++) {
    const name = `${producerName}#${index}`
    const release = await tryHold(locks, identityLockName(name))
    if (release !== null) return { name, index, release }
  }
  throw new Error(`no free identity slot for producer '${producerName}' among ${maxSlots}`)
}

function tryHold(locks: LockManagerLike, lockName: string): Promise<(() => void) | null> {
  return new Promise((resolve, reject) => {
    let release!: () => void
    const released = new Promise<void>((r) => (release = r))
    locks
      .request(lockName, { ifAvailable: true }, async (lock) => {
        if (lock === null) return resolve(null)
        resolve(release)
        await released
      })
      .catch(reject)
  })
}
