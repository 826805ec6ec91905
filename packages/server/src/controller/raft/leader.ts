/**
 * @module The leader's side of Raft: replication with per-follower flow control, commitment by quorum,
 * heartbeats, check-quorum, snapshots for followers behind the compacted log, and read-index.
 */
import type { AppendResponseMessage, HeartbeatResponseMessage, Message, NodeId } from './messages.js'
import { CompactedError } from './raft-storage.js'
import type { Progress } from './progress.js'
import type { Raft } from './raft.js'
import type { ReadIndexRequest } from './read-only.js'

export class Leader {
  readonly #r: Raft

  constructor(raft: Raft) {
    this.#r = raft
  }

  /** Called once the node became leader: a no-op entry of the new term, so earlier entries can commit (Raft §5.4.2). */
  start(): void {
    const r = this.#r
    const own = r.trk.progress.get(r.id)!
    own.becomeReplicate()
    own.recentActive = true
    this.#appendOwn([new Uint8Array(0)])
    this.#bcastAppend()
  }

  tick(): void {
    const r = this.#r
    r.heartbeatElapsed++
    r.electionElapsed++
    if (r.electionElapsed >= r.electionTicks) {
      r.electionElapsed = 0
      if (r.checkQuorum && !r.trk.quorumActive(r.id)) {
        r.stepDown('stepped down: no quorum heard from within an election timeout (check-quorum)')
        return
      }
    }
    for (const [id, pr] of r.trk.progress) {
      // A snapshot message may be lost: after an election timeout without an answer, probe again.
      if (id !== r.id && pr.state === 'snapshot' && ++pr.snapshotTicks >= r.electionTicks) pr.becomeProbe()
    }
    if (r.heartbeatElapsed >= r.heartbeatTicks) {
      r.heartbeatElapsed = 0
      this.#bcastHeartbeat(r.readOnly.lastPendingContext())
    }
  }

  propose(data: readonly Uint8Array[]): boolean {
    this.#appendOwn(data)
    this.#bcastAppend()
    return true
  }

  readIndex(request: ReadIndexRequest): void {
    const r = this.#r
    if (r.trk.voters.length === 1) {
      r.respondRead(request, r.log.committed)
      return
    }
    // Until an entry of this term commits, our commit index may be behind what an earlier leader committed.
    if (r.log.term(r.log.committed) !== r.term) {
      r.pendingReadIndex.push(request)
      return
    }
    this.#startRead(request)
  }

  step(m: Message): void {
    const r = this.#r
    if (m.type === 'propose') {
      this.propose(m.entries.map((e) => e.data))
      return
    }
    if (m.type === 'readIndex') {
      this.readIndex({ from: m.from, context: m.context })
      return
    }
    const pr = r.trk.progress.get(m.from)
    if (!pr || m.from === r.id) return
    if (m.type === 'appendResponse') this.#handleAppendResponse(m, pr)
    else if (m.type === 'heartbeatResponse') this.#handleHeartbeatResponse(m, pr)
  }

  #appendOwn(data: readonly Uint8Array[]): void {
    const r = this.#r
    const entries = r.appendOwn(data)
    // Our own entries count as matched at once: they are persisted before any message carrying them leaves.
    r.trk.progress.get(r.id)!.maybeUpdate(entries[entries.length - 1]!.index)
    this.#maybeCommit()
  }

  #maybeCommit(): boolean {
    const r = this.#r
    if (!r.log.maybeCommit(r.trk.committedIndex(), r.term)) return false
    this.#releasePendingReads()
    return true
  }

  #releasePendingReads(): void {
    const r = this.#r
    if (r.pendingReadIndex.length === 0 || r.log.term(r.log.committed) !== r.term) return
    const pending = r.pendingReadIndex
    r.pendingReadIndex = []
    for (const req of pending) this.#startRead(req)
  }

  /** Read-index: remember the commit index now, and confirm leadership with a heartbeat round carrying the context. */
  #startRead(request: ReadIndexRequest): void {
    const r = this.#r
    r.readOnly.addRequest(r.log.committed, request)
    r.readOnly.recvAck(r.id, request.context)
    this.#bcastHeartbeat(request.context)
  }

  #bcastAppend(): void {
    for (const id of this.#r.trk.progress.keys()) if (id !== this.#r.id) this.#maybeSendAppend(id, true)
  }

  #bcastHeartbeat(context: Uint8Array | undefined): void {
    const r = this.#r
    for (const [id, pr] of r.trk.progress) {
      if (id === r.id) continue
      // Never tell a follower to commit beyond what it is known to hold.
      const commit = Math.min(pr.match, r.log.committed)
      r.send(id, context ? { type: 'heartbeat', commit, context } : { type: 'heartbeat', commit })
    }
  }

  /** Sends the follower its next entries (or a snapshot when they are compacted away); false when nothing was sent. */
  #maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const r = this.#r
    const pr = r.trk.progress.get(to)!
    if (pr.isPaused()) return false
    const prevIndex = pr.next - 1
    const prevTerm = r.log.term(prevIndex)
    let entries
    if (prevTerm !== undefined) {
      try {
        entries = r.log.entriesFrom(pr.next, r.maxAppendBytes)
      } catch (e) {
        if (!(e instanceof CompactedError)) throw e
      }
    }
    if (prevTerm === undefined || entries === undefined) {
      // A snapshot is only worth sending to a follower that answers.
      if (!pr.recentActive) return false
      const snapshot = r.log.snapshot()
      r.info(`sent snapshot [index: ${snapshot.metadata.index}, term: ${snapshot.metadata.term}] to ${to} (next ${pr.next} is compacted)`)
      r.send(to, { type: 'snapshot', snapshot })
      pr.becomeSnapshot(snapshot.metadata.index)
      return true
    }
    if (entries.length === 0 && !sendIfEmpty) return false
    r.send(to, { type: 'append', index: prevIndex, logTerm: prevTerm, entries, commit: r.log.committed })
    pr.sentAppend(entries.length > 0 ? entries[entries.length - 1]!.index : undefined)
    return true
  }

  #handleAppendResponse(m: AppendResponseMessage, pr: Progress): void {
    const r = this.#r
    pr.recentActive = true
    if (m.reject) {
      const hint = m.logTerm > 0 ? r.log.findConflictByTerm(m.rejectHint, m.logTerm).index : m.rejectHint
      if (pr.maybeDecrTo(m.index, hint)) {
        r.info(`received append rejection from ${m.from} for index ${m.index}; next ${pr.next}`)
        if (pr.state === 'replicate') pr.becomeProbe()
        this.#maybeSendAppend(m.from, true)
      }
      return
    }
    const wasPaused = pr.isPaused()
    if (!pr.maybeUpdate(m.index)) return
    if (pr.state === 'probe') pr.becomeReplicate()
    else if (pr.state === 'snapshot' && pr.match >= pr.pendingSnapshot) {
      r.info(`follower ${m.from} caught up with snapshot ${pr.pendingSnapshot}`)
      pr.becomeProbe()
      pr.becomeReplicate()
    } else if (pr.state === 'replicate') pr.freeInflightsTo(m.index)

    if (this.#maybeCommit()) this.#bcastAppend()
    else if (wasPaused) this.#maybeSendAppend(m.from, true)
    // Send what else the follower lacks, as far as flow control allows.
    while (this.#maybeSendAppend(m.from, false)) {
      // each call sends one append
    }
  }

  #handleHeartbeatResponse(m: HeartbeatResponseMessage, pr: Progress): void {
    const r = this.#r
    pr.recentActive = true
    pr.probeSent = false
    // A lost append may have filled the window: free one slot so replication can resume.
    if (pr.state === 'replicate' && pr.inflightsFull()) pr.freeFirstInflight()
    if (pr.match < r.log.lastIndex()) this.#maybeSendAppend(m.from, true)
    if (!m.context) return
    const acks = r.readOnly.recvAck(m.from, m.context)
    if (!acks || r.trk.tally(acks).result !== 'won') return
    for (const status of r.readOnly.advance(m.context)) r.respondRead(status.request, status.index)
  }
}
