/**
 * @module Scripted consumer-group answers for SDK tests over the FakeBroker: the test says what each heartbeat is
 * answered (an epoch and assignment, or an error) and the coordinator only records. It holds no coordinator rule:
 * no assignor, no epoch validation, no revocation order; commits are recorded and offsetFetch answers what was
 * committed (or what the test put in `offsets`). The real coordinator is tested on the server.
 */
import { ApiKeys, SamsaError, type ConsumerGroupHeartbeatRequest, type ConsumerGroupHeartbeatResponse, type OffsetCommitRequest, type OffsetFetchRequest, type TopicPartitions } from '@samsa/shared'
import type { FakeBroker } from './fake-broker.js'

type Answer = { readonly epoch: number; readonly assignment: readonly TopicPartitions[] | null } | SamsaError

export class ScriptedCoordinator {
  readonly heartbeats: ConsumerGroupHeartbeatRequest[] = []
  readonly commits: OffsetCommitRequest[] = []
  readonly fetches: OffsetFetchRequest[] = []
  /** Committed offsets by `topic/partition`, as offsetFetch answers them. */
  readonly offsets = new Map<string, { offset: number; leaderEpoch: number }>()
  /** Errors for the next offsetCommit requests, in order. */
  readonly commitErrors: SamsaError[] = []
  /** Errors for the next findCoordinator requests, in order. */
  readonly findErrors: SamsaError[] = []
  findRequests = 0
  /** What happened, in order: `heartbeat <epoch> [owned]`, `commit t/p@offset…`, `fetch t/p…`; tests add their own lines. */
  readonly events: string[] = []
  /** While set, every heartbeat is answered with this error (scripted answers wait). */
  refusing: SamsaError | null = null
  /** The heartbeat interval every answer names, ms. */
  intervalMs = 1_000
  readonly #answers: Answer[] = []
  /** The epoch answered when no answer is scripted (the last scripted one). */
  #epoch = 0

  constructor(broker: FakeBroker) {
    broker.scripted.set(ApiKeys.FIND_COORDINATOR, () => {
      this.findRequests++
      const error = this.findErrors.shift()
      if (error !== undefined) throw error
      return { brokerId: 1, url: broker.url }
    })
    broker.scripted.set(ApiKeys.CONSUMER_GROUP_HEARTBEAT, (body) => this.#heartbeat(body as ConsumerGroupHeartbeatRequest))
    broker.scripted.set(ApiKeys.OFFSET_COMMIT, (body) => this.#commit(body as OffsetCommitRequest))
    broker.scripted.set(ApiKeys.OFFSET_FETCH, (body) => this.#fetch(body as OffsetFetchRequest))
  }

  /** The next heartbeat is answered with this epoch and assignment (null: unchanged). */
  answer(epoch: number, assignment: readonly TopicPartitions[] | null): this {
    this.#answers.push({ epoch, assignment })
    return this
  }

  /** The next heartbeat is answered with this error. */
  fail(error: SamsaError): this {
    this.#answers.push(error)
    return this
  }

  /** The last heartbeat received. */
  get last(): ConsumerGroupHeartbeatRequest | undefined {
    return this.heartbeats[this.heartbeats.length - 1]
  }

  #heartbeat(q: ConsumerGroupHeartbeatRequest): ConsumerGroupHeartbeatResponse {
    this.heartbeats.push(q)
    this.events.push(`heartbeat ${q.memberEpoch}${q.ownedPartitions === null ? '' : ` [${q.ownedPartitions.flatMap((t) => t.partitions.map((p) => `${t.topic}/${p}`)).join(' ')}]`}`)
    if (this.refusing !== null) throw this.refusing
    const next = this.#answers.shift()
    if (next instanceof SamsaError) throw next
    if (next !== undefined) this.#epoch = next.epoch
    if (q.memberEpoch < 0) return { memberId: q.memberId, memberEpoch: q.memberEpoch, heartbeatIntervalMs: 0, assignment: null }
    return { memberId: q.memberId, memberEpoch: this.#epoch, heartbeatIntervalMs: this.intervalMs, assignment: next?.assignment ?? null }
  }

  #commit(q: OffsetCommitRequest): unknown {
    this.commits.push(q)
    this.events.push(`commit ${q.topics.flatMap((t) => t.partitions.map((p) => `${t.topic}/${p.partition}@${p.offset}`)).join(' ')}`)
    const error = this.commitErrors.shift()
    if (error !== undefined) throw error
    for (const t of q.topics) for (const p of t.partitions) this.offsets.set(`${t.topic}/${p.partition}`, { offset: p.offset, leaderEpoch: p.leaderEpoch })
    return { topics: q.topics.map((t) => ({ topic: t.topic, partitions: t.partitions.map((p) => ({ partition: p.partition, errorCode: 0 })) })) }
  }

  #fetch(q: OffsetFetchRequest): unknown {
    this.fetches.push(q)
    this.events.push(`fetch ${(q.topics ?? []).flatMap((t) => t.partitions.map((p) => `${t.topic}/${p}`)).join(' ')}`)
    return {
      topics: (q.topics ?? []).map((t) => ({
        topic: t.topic,
        partitions: t.partitions.map((partition) => {
          const c = this.offsets.get(`${t.topic}/${partition}`)
          return { partition, offset: c?.offset ?? -1, leaderEpoch: c?.leaderEpoch ?? -1, metadata: null, errorCode: 0 }
        }),
      })),
    }
  }
}
