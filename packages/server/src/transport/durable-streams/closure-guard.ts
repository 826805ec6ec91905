/**
 * @module Closure for every produce, WebSocket ones included: the broker's append guard refuses an append to a
 * closed stream (POLICY_VIOLATION). In a cluster a node may become a stream's leader before its follow of the
 * catalog has applied a close acknowledged just before (by the previous leader): so the first append it is asked
 * for at each leader epoch of a partition waits for a catalog sync (every event acknowledged before the sync began),
 * and so do the appends that arrive meanwhile, in order.
 *
 * Invariants: at a leader epoch, no append is decided before a sync that began after this node took that epoch has
 * applied its events; a failed sync decides nothing (the append fails with its error) and the next append syncs
 * again; the broker's own topics (`__`, the catalog's included) are never held, or a catalog write would wait for
 * itself; a single node (no peers) applies every close when it makes it, so it never waits.
 */
import { ErrorMessages, SamsaError } from '@samsa/shared'
import type { AppendGuard } from '../../broker/broker.js'
import type { StreamCatalog } from './stream-catalog.js'

interface Gate {
  readonly epoch: number
  /** The sync appends at this epoch wait for; null once it completed. */
  ready: Promise<void> | null
}

export function closureGuard(catalog: StreamCatalog, sync: (() => Promise<void>) | null): AppendGuard {
  const closed = (topic: string) => (catalog.get(topic)?.closed ? new SamsaError('POLICY_VIOLATION', ErrorMessages.streamClosed(topic)) : null)
  const gates = new Map<string, Gate>()
  return (topic, partition, epoch) => {
    if (!sync || epoch === null || topic.startsWith('__')) return closed(topic)
    const key = `${partition}/${topic}`
    let gate = gates.get(key)
    if (!gate || gate.epoch !== epoch) {
      const g: Gate = { epoch, ready: null }
      g.ready = sync().then(
        () => {
          g.ready = null
        },
        (e: unknown) => {
          if (gates.get(key) === g) gates.delete(key)
          throw e
        },
      )
      gates.set(key, g)
      gate = g
    }
    return gate.ready ? gate.ready.then(() => closed(topic)) : closed(topic)
  }
}
