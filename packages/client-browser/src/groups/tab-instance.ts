/**
 * @module `instanceId: 'tab'`: a static-membership id per browser tab that survives a reload. Kept in
 * sessionStorage (per tab and per origin, kept across reloads, dropped with the tab), not IndexedDB (shared by every
 * tab of the origin, so it cannot tell two tabs apart). A duplicated tab starts with a copy of the sessionStorage; a
 * Web Lock on the id, held for the consumer's life, tells the copy that the id is taken, and it picks a new one.
 */
import type { Clock, Random } from '../ports.js'
import type { LockManagerLike } from '../storage/identity-lock.js'

export interface SessionStoreLike {
  getItem(key: string): string | null
  setItem(key: string, value: string): void
}

export interface TabInstance {
  readonly id: string
  /** Releases the id's lock (the consumer closed). */
  release(): void
}

/** A random id of 32 hex digits from `random` (a member id, an instance id). */
export function randomId(random: Random): string {
  let s = ''
  for (let i = 0; i < 32; i++) s += Math.floor(random() * 16).toString(16)
  return s
}

export function defaultSessionStore(): SessionStoreLike | null {
  const s = (globalThis as { sessionStorage?: SessionStoreLike }).sessionStorage
  return s !== undefined && typeof s.getItem === 'function' ? s : null
}

const CLAIM_ATTEMPTS = 5
const CLAIM_RETRY_MS = 100

/**
 * The tab's instance id for `groupId`: the one in `session` if this tab can lock it (a reload: the old page's lock
 * is released as it unloads, so a few bounded retries), else a new one, stored for the next reload.
 */
export async function claimTabInstance(groupId: string, session: SessionStoreLike, locks: LockManagerLike, random: Random, clock: Clock): Promise<TabInstance> {
  const key = `samsa.group.${groupId}.instanceId`
  const kept = session.getItem(key)
  if (kept !== null) {
    for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
      const held = await hold(locks, groupId, kept)
      if (held !== null) return held
      await new Promise<void>((resolve) => clock.setTimeout(resolve, CLAIM_RETRY_MS))
    }
  }
  for (;;) {
    const id = `tab-${randomId(random)}`
    const held = await hold(locks, groupId, id)
    if (held === null) continue
    session.setItem(key, id)
    return held
  }
}

/** Takes the lock of `id` and keeps it until release(); null when another tab holds it. */
function hold(locks: LockManagerLike, groupId: string, id: string): Promise<TabInstance | null> {
  return new Promise((resolve, reject) => {
    let release!: () => void
    const released = new Promise<void>((r) => (release = r))
    locks
      .request(`samsa-group-instance:${groupId}:${id}`, { ifAvailable: true }, async (lock) => {
        if (lock === null) return resolve(null)
        resolve({ id, release })
        await released
      })
      .catch(reject)
  })
}
