/**
 * @module A member's commits to the group coordinator: per owned partition the position after the last record the
 * application is done with (or the last `process()` batch), sent with the member's id and current epoch.
 *
 * Invariants: a commit names only partitions the member owns at send time, and only positions ahead of the last
 * acknowledged one; STALE_MEMBER_EPOCH is retried after the next heartbeat (which brings the current epoch), a moved
 * coordinator after finding it again; FENCED_MEMBER_EPOCH / UNKNOWN_MEMBER_ID reject (the member drops its
 * partitions without committing). Commits run one at a time, so acknowledged positions never go backwards.
 */
import { SamsaError } from '@samsa/shared'
import type { StoredPosition } from '../storage/stores.js'
import type { CoordinatorLink } from './coordinator-link.js'
import { errorAction, grouped, tpKey, type TopicPartition } from './member-state.js'

export interface CommitsHost {
  readonly groupId: string
  readonly memberId: string
  /** The member's current epoch (0 while not joined: nothing is committed then). */
  epoch(): number
  /** The partitions the member delivers now. */
  owned(): readonly TopicPartition[]
  /** The position to commit for an owned partition (null: nothing delivered yet); `handed`: the record in hand counts. */
  position(tp: TopicPartition, handed: boolean): StoredPosition | null
  /** Resolves after the next successful heartbeat (the epoch may have moved). */
  nextHeartbeat(): Promise<void>
}

const MAX_ATTEMPTS = 5

export class GroupCommits {
  readonly #host: CommitsHost
  readonly #link: CoordinatorLink
  /** Acknowledged committed positions, per partition key. */
  readonly #acked = new Map<string, StoredPosition>()
  #chain: Promise<void> = Promise.resolve()
  /** Acknowledged commit requests, for tests. */
  commits = 0

  constructor(host: CommitsHost, link: CoordinatorLink) {
    this.#host = host
    this.#link = link
  }

  /** The last acknowledged commit of the partition (or the committed offset it started from). */
  acked(tp: TopicPartition): StoredPosition | null {
    return this.#acked.get(tpKey(tp)) ?? null
  }

  /** Records the committed offset a partition started from. */
  started(tp: TopicPartition, committed: StoredPosition | null): void {
    if (committed === null) this.#acked.delete(tpKey(tp))
    else this.#acked.set(tpKey(tp), committed)
  }

  /**
   * Commits the positions of `partitions` (default: every owned one) that moved; resolves once acknowledged. `sent`
   * is called once the request is handed to the connection (or there is nothing to send): a request made after that
   * is written after it. `handed`: the record in the application's hand counts as done (a manual commit).
   */
  commit(partitions?: readonly TopicPartition[], sent?: () => void, handed = false): Promise<void> {
    const run = this.#chain.then(() => this.#commitNow(partitions, sent, handed)).finally(() => sent?.())
    this.#chain = run.catch(() => {})
    return run
  }

  async #commitNow(partitions: readonly TopicPartition[] | undefined, sent: (() => void) | undefined, handed: boolean): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const owned = new Set(this.#host.owned().map(tpKey))
      const wanted = (partitions ?? this.#host.owned()).filter((tp) => owned.has(tpKey(tp)))
      const moves = wanted.flatMap((tp) => {
        const position = this.#host.position(tp, handed)
        const acked = this.#acked.get(tpKey(tp))
        return position !== null && (acked === undefined || position.offset > acked.offset) ? [{ tp, position }] : []
      })
      const epoch = this.#host.epoch()
      if (moves.length === 0 || epoch <= 0) return sent?.()
      try {
        const answering = this.#link.commit({
          groupId: this.#host.groupId,
          memberId: this.#host.memberId,
          memberEpoch: epoch,
          topics: grouped(moves.map((m) => m.tp)).map((t) => ({
            topic: t.topic,
            partitions: t.partitions.map((partition) => {
              const { position } = moves.find((m) => m.tp.topic === t.topic && m.tp.partition === partition)!
              return { partition, offset: position.offset, leaderEpoch: position.leaderEpoch, metadata: null }
            }),
          })),
        })
        sent?.()
        const answer = await answering
        this.commits++
        const failed: SamsaError[] = []
        for (const t of answer.topics) {
          for (const p of t.partitions) {
            const move = moves.find((m) => m.tp.topic === t.topic && m.tp.partition === p.partition)
            if (move === undefined) continue
            if (p.errorCode === 0) this.#acked.set(tpKey(move.tp), move.position)
            else failed.push(SamsaError.fromCode(p.errorCode, `the coordinator refused the commit of ${t.topic}/${p.partition} at ${move.position.offset} (error code ${p.errorCode})`))
          }
        }
        if (failed.length > 0) throw failed[0]!
        return
      } catch (error) {
        if (!(error instanceof SamsaError) || attempt >= MAX_ATTEMPTS) throw error
        const action = error.errorName === 'STALE_MEMBER_EPOCH' ? 'retry' : errorAction(error)
        if (action !== 'retry' && action !== 'refind') throw error
        await this.#host.nextHeartbeat()
      }
    }
  }
}
