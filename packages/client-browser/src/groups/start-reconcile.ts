/**
 * @module Where an assigned partition starts: the group's committed offset, or this page's stored position
 * (IndexedDB, written by `process()` transactions and local commits) when that one is newer. Pure.
 *
 * "Newer" compares (leaderEpoch, offset): a position from a later leader epoch wins (it was read from a newer history
 * of the log, so the other may lie past a truncation); within one epoch, or when either epoch is unknown (−1), the
 * higher offset wins. The page's position can be ahead when its group commit was lost (a crash, a fenced epoch) while
 * its `process()` transactions were committed: starting from it keeps `process()` exactly once within the page.
 * The group's commit is ahead when another member processed the partition since.
 */
import type { StoredPosition } from '../storage/stores.js'

export interface Committed {
  /** −1: nothing committed. */
  readonly offset: number
  readonly leaderEpoch: number
}

export type StartChoice = { readonly from: 'committed' | 'stored'; readonly position: StoredPosition } | { readonly from: 'reset' }

export function isNewer(a: StoredPosition, b: StoredPosition): boolean {
  if (a.leaderEpoch >= 0 && b.leaderEpoch >= 0 && a.leaderEpoch !== b.leaderEpoch) return a.leaderEpoch > b.leaderEpoch
  return a.offset > b.offset
}

export function chooseStart(committed: Committed | null, stored: StoredPosition | null): StartChoice {
  const group = committed !== null && committed.offset >= 0 ? { offset: committed.offset, leaderEpoch: committed.leaderEpoch } : null
  if (group === null && stored === null) return { from: 'reset' }
  if (group === null) return { from: 'stored', position: stored! }
  if (stored === null || !isNewer(stored, group)) return { from: 'committed', position: group }
  return { from: 'stored', position: stored }
}
