/**
 * @module A one-voter controller quorum for tests (it elects itself): the real RaftDriver, RaftLogStore (over the
 * given MemoryLogStorage) and MetadataNode on a ManualClock, with helpers that move the clock until work settles.
 */
import type { MemoryLogStorage } from '../../log/memory-log-storage.js'
import type { ManualClock } from '../../log/testing/manual-clock.js'
import { MetadataNode } from '../metadata-node.js'
import { RaftDriver } from '../raft-driver.js'
import { RaftLogStore } from '../raft-log-store.js'

export const TICK_MS = 100
export const SESSION_MS = 1_000

export interface SingleVoterOptions {
  readonly snapshotEveryEntries?: number
  /** The voter's node id (default 1). */
  readonly nodeId?: number
}

export async function startSingleVoter(storage: MemoryLogStorage, clock: ManualClock, opts: SingleVoterOptions = {}) {
  const id = opts.nodeId ?? 1
  const store = await RaftLogStore.open(storage, { dir: 'controller/raft', membership: { voters: [id], learners: [] } })
  const metadata = new MetadataNode({
    nodeId: id,
    clock,
    random: () => 0,
    controller: { sessionTimeoutMs: SESSION_MS, producerIdBlockSize: 10 },
    pollMs: TICK_MS,
    snapshotEveryEntries: opts.snapshotEveryEntries ?? 1_000,
    preferredLeaderIntervalMs: 0,
  })
  const driver = new RaftDriver({ id, store, clock, random: () => 0.5, tickMs: TICK_MS, transport: { send: () => {} }, apply: (e) => metadata.apply(e), restore: (s) => metadata.restore(s) })
  metadata.attach(driver)
  driver.start()
  const pump = async (ticks = 1) => {
    for (let i = 0; i < ticks; i++) {
      clock.advance(TICK_MS)
      await driver.idle()
      for (let j = 0; j < 5; j++) await Promise.resolve()
    }
  }
  /** Pumps until `p` settles (bounded in ticks), then returns it. */
  const settle = async <T>(p: Promise<T>): Promise<T> => {
    let done = false
    p.then(() => (done = true), () => (done = true))
    for (let i = 0; i < 100 && !done; i++) await pump()
    return p
  }
  /** Pumps until this voter is the active controller (bounded). */
  const activate = async () => {
    for (let i = 0; i < 100 && !metadata.state().active; i++) await pump()
    if (!metadata.state().active) throw new Error('the single voter did not become the active controller')
  }
  const stop = async () => {
    metadata.stop()
    await driver.stop()
  }
  return { metadata, driver, store, pump, settle, activate, stop }
}

export type SingleVoter = Awaited<ReturnType<typeof startSingleVoter>>
