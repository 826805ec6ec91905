/**
 * @module Recovery of the controller's Raft state on open: reads the hard state, the snapshot and the log segments
 * (raft-log-format.ts) and builds the view the Raft core starts from.
 *
 * Invariants:
 *  - A record that is torn or fails its CRC is cut, with everything after it, when its index is above the persisted
 *    commit (an unsynced tail); at or below the commit, recovery refuses (RaftStorageDamageError): committed entries
 *    are never silently dropped. A missing segment in the middle counts as damage at its first index.
 *  - Entries at or below the snapshot's index are never read; a log that does not continue the snapshot (the entry
 *    at its index has another term: a crash while installing a leader's snapshot) is dropped after it.
 *  - The persisted commit never lies beyond the recovered log, or recovery refuses.
 */
import { crc32c as jsCrc32c, silentLogger, type Crc32cFn, type Logger } from '@samsa/shared'
import type { LogStorage, StoredFile } from '../log/log-storage.js'
import type { Entry, HardState, Membership } from './raft/index.js'
import { MemoryRaftStorage, NONE } from './raft/index.js'
import {
  HARD_STATE_FILE, RaftStorageDamageError, SNAPSHOT_FILE, checkRecord, decodeHardState, decodeRecord, decodeSnapshot, segmentFirstIndex,
} from './raft-log-format.js'

export interface RaftLogRecoveryOptions {
  /** Directory under the storage root, e.g. "controller/raft". */
  readonly dir: string
  /** The static membership (the snapshot's, once one exists). */
  readonly membership: Membership
  readonly crc32c?: Crc32cFn
  readonly logger?: Logger
}

/** One open log segment file. */
export interface RaftSegment {
  readonly firstIndex: number
  readonly name: string
  file: StoredFile
  /** Byte offset of each record: positions[i] holds entry firstIndex + i. */
  positions: number[]
}

export interface RecoveredRaftLog {
  /** Snapshot, kept entries and hard state, as the Raft core will read them. */
  readonly view: MemoryRaftStorage
  /** The segments left on disk, open, in index order. */
  readonly segments: RaftSegment[]
  readonly snapshotIndex: number
  readonly hardState: HardState
}

/** Loads what is durable (cutting an unsynced tail); refuses damage at or below the persisted commit. */
export async function recoverRaftLog(storage: LogStorage, opts: RaftLogRecoveryOptions): Promise<RecoveredRaftLog> {
  const crc = opts.crc32c ?? jsCrc32c
  const logger = opts.logger ?? silentLogger
  const dir = opts.dir
  await storage.ensureDir(dir)
  const hsBytes = await storage.readFile(`${dir}/${HARD_STATE_FILE}`)
  const hardState = hsBytes ? decodeHardState(hsBytes, crc) : { term: 0, vote: NONE, commit: 0 }
  const snapBytes = await storage.readFile(`${dir}/${SNAPSHOT_FILE}`)
  const snapshot = snapBytes ? decodeSnapshot(snapBytes, crc) : undefined
  const snapIndex = snapshot?.metadata.index ?? 0
  const snapTerm = snapshot?.metadata.term ?? 0

  const files = (await storage.list(dir))
    .flatMap((name) => {
      const firstIndex = segmentFirstIndex(name)
      return firstIndex === undefined ? [] : [{ name, firstIndex }]
    })
    .sort((a, b) => a.firstIndex - b.firstIndex)
  const segments: RaftSegment[] = []
  const entries: Entry[] = []
  let expected: number | undefined
  let cut = false
  const damage = (index: number, why: string) => {
    if (index <= hardState.commit) throw new RaftStorageDamageError(`raft log in ${dir}: entry ${index} ${why}, at or below the persisted commit ${hardState.commit}`)
    logger.warn({ dir, index, reason: why }, 'cutting the raft log tail that was not synced')
    cut = true
  }
  for (const { name, firstIndex } of files) {
    if (cut) {
      await storage.remove(`${dir}/${name}`)
      continue
    }
    if (expected !== undefined && firstIndex !== expected) {
      damage(expected, `is missing (the next segment starts at ${firstIndex})`)
      await storage.remove(`${dir}/${name}`)
      continue
    }
    const file = await storage.open(`${dir}/${name}`, { create: false })
    const bytes = await file.read(0, file.size())
    const seg: RaftSegment = { firstIndex, name, file, positions: [] }
    let pos = 0
    let index = firstIndex
    while (pos < bytes.length) {
      const why = checkRecord(bytes, pos, index, crc)
      if (why) {
        damage(index, why)
        await file.truncate(pos)
        await file.sync()
        break
      }
      const { entry, next } = decodeRecord(bytes, pos, index)
      seg.positions.push(pos)
      entries.push(entry)
      pos = next
      index++
    }
    segments.push(seg)
    expected = index
  }

  // Only entries after the snapshot count, and only if the log continues it.
  let kept = entries.filter((e) => e.index > snapIndex)
  if (snapIndex > 0 && entries.length > 0) {
    const atSnap = entries.find((e) => e.index === snapIndex)
    const continues = atSnap ? atSnap.term === snapTerm : entries[0]!.index === snapIndex + 1
    if (!continues && kept.length > 0) {
      if (kept[0]!.index <= hardState.commit) throw new RaftStorageDamageError(`raft log in ${dir} does not continue the snapshot at ${snapIndex} below the persisted commit ${hardState.commit}`)
      kept = []
    }
  } else if (snapIndex === 0 && entries.length > 0 && entries[0]!.index !== 1) {
    throw new RaftStorageDamageError(`raft log in ${dir} starts at ${entries[0]!.index} with no snapshot before it`)
  }
  const lastIndex = kept.length > 0 ? kept[kept.length - 1]!.index : snapIndex
  if (hardState.commit > lastIndex) throw new RaftStorageDamageError(`raft hard state in ${dir} commits ${hardState.commit} beyond the durable log (last index ${lastIndex})`)
  if (kept.length === 0) {
    // Nothing to keep: every segment goes, the next append starts a fresh one.
    for (const s of segments) {
      await s.file.close()
      await storage.remove(`${dir}/${s.name}`)
    }
    segments.length = 0
  }

  const view = new MemoryRaftStorage(opts.membership)
  if (snapshot) view.applySnapshot(snapshot)
  view.append(kept)
  view.setHardState(hardState)
  return { view, segments, snapshotIndex: snapIndex, hardState }
}
