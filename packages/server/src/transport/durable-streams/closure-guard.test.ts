/**
 * The closure guard: a closed stream refuses appends; in a cluster the first append of each leader epoch (and those
 * arriving meanwhile) waits for a catalog sync, so a close the sync applies refuses it; the broker's own topics and
 * a single node never wait; a failed sync decides nothing and the next append syncs again.
 */
import { describe, expect, it } from 'vitest'
import { SamsaError } from '@samsa/shared'
import { closureGuard } from './closure-guard.js'
import { StreamCatalog, type CatalogEvent } from './stream-catalog.js'

const CONFIG = { contentType: 'text/plain', ttlSeconds: null, expiresAtMs: null, fork: null }

function setup() {
  const catalog = new StreamCatalog(async () => {}, () => 0)
  catalog.apply({ op: 'create', topic: 'notes', config: CONFIG, createdAtMs: 0 })
  const syncs: { resolve: () => void; reject: (e: Error) => void }[] = []
  const pending: CatalogEvent[] = []
  const sync = () =>
    new Promise<void>((resolve, reject) => {
      syncs.push({
        resolve: () => {
          for (const e of pending.splice(0)) catalog.apply(e)
          resolve()
        },
        reject,
      })
    })
  return { catalog, syncs, pending, sync }
}

const nameOf = (r: SamsaError | null) => r?.errorName ?? null

describe('closureGuard', () => {
  it('refuses an append to a closed stream at once on a single node', async () => {
    const { catalog } = setup()
    const guard = closureGuard(catalog, null)
    expect(guard('notes', 0, null)).toBeNull()
    catalog.apply({ op: 'close', topic: 'notes', by: null })
    expect(nameOf(await guard('notes', 0, null))).toBe('POLICY_VIOLATION')
  })

  it('holds the first appends of a leader epoch until a sync, which applies a close acknowledged before', async () => {
    const { catalog, syncs, pending, sync } = setup()
    const guard = closureGuard(catalog, sync)
    pending.push({ op: 'close', topic: 'notes', by: null })
    const first = guard('notes', 0, 3)
    const second = guard('notes', 0, 3)
    expect(first).toBeInstanceOf(Promise)
    expect(second).toBeInstanceOf(Promise)
    expect(syncs).toHaveLength(1)
    syncs[0]!.resolve()
    expect(nameOf(await first)).toBe('POLICY_VIOLATION')
    expect(nameOf(await second)).toBe('POLICY_VIOLATION')
    expect(nameOf(await guard('notes', 0, 3))).toBe('POLICY_VIOLATION')
    expect(syncs).toHaveLength(1)
  })

  it('syncs once per leader epoch; the broker\'s own topics never wait', async () => {
    const { catalog, syncs, sync } = setup()
    const guard = closureGuard(catalog, sync)
    const first = guard('notes', 0, 1)
    syncs[0]!.resolve()
    expect(await first).toBeNull()
    expect(guard('notes', 0, 1)).toBeNull()
    expect(guard('notes', 0, 2)).toBeInstanceOf(Promise)
    expect(guard('__durable_streams', 0, 1)).toBeNull()
    expect(syncs).toHaveLength(2)
  })

  it('a failed sync fails the append and the next one syncs again', async () => {
    const { catalog, syncs, sync } = setup()
    const guard = closureGuard(catalog, sync)
    const first = guard('notes', 0, 1)
    syncs[0]!.reject(new SamsaError('REQUEST_TIMED_OUT', 'no catalog leader'))
    await expect(first).rejects.toThrow('no catalog leader')
    const again = guard('notes', 0, 1)
    expect(syncs).toHaveLength(2)
    syncs[1]!.resolve()
    expect(await again).toBeNull()
  })
})
