/**
 * @module LeaderPartition: this broker leading one partition at one leader epoch. Joins the pure LeaderPartitionState
 * to the partition's log (its durable end, its high watermark) and to the controller (AlterPartition). A leader
 * handle for the broker's acks=all (isrSize, minInsyncReplicas, resignation).
 */
import { SamsaError } from '@samsa/shared'
import type { LeaderHandle } from '../broker/partition-leadership.js'
import type { Clock, Logger } from '../clock.js'
import type { PartitionRegistration } from '../controller/metadata/metadata-image.js'
import type { PartitionLog } from '../log/partition-log.js'
import { LeaderPartitionState, type IsrProposal } from './leader-partition-state.js'

/** The leader's ISR change request to the active controller (the broker id and epoch are the port's to add). */
export interface AlterPartitionRequest {
  readonly topic: string
  readonly partition: number
  readonly leaderEpoch: number
  readonly partitionEpoch: number
  readonly newIsr: readonly number[]
}

/** Kafka's AlterPartition, sent to the active controller; resolves with the partition's committed registration. */
export interface AlterPartition {
  alterPartition(req: AlterPartitionRequest): Promise<PartitionRegistration>
}

export interface LeaderPartitionArgs {
  readonly topic: string
  readonly partition: number
  readonly localBrokerId: number
  readonly registration: PartitionRegistration
  readonly minInsyncReplicas: number
  readonly replicaLagTimeMaxMs: number
  /** Cap of the backoff before re-proposing a follower the controller refused as ineligible (the ISR check interval). */
  readonly expansionRetryMaxMs?: number
  readonly log: PartitionLog
  readonly alterPartition: AlterPartition
  readonly clock: Clock
  readonly logger: Logger
}

export class LeaderPartition implements LeaderHandle {
  readonly #a: LeaderPartitionArgs
  readonly #state: LeaderPartitionState
  readonly #resignedListeners = new Set<() => void>()
  #resigned = false
  readonly #offDurable: () => void

  /** Call after log.becomeLeader(registration.leaderEpoch) resolved. */
  constructor(args: LeaderPartitionArgs) {
    this.#a = args
    const reg = args.registration
    this.#state = new LeaderPartitionState({
      localBrokerId: args.localBrokerId,
      leaderEpoch: reg.leaderEpoch,
      partitionEpoch: reg.partitionEpoch,
      replicas: reg.replicas,
      isr: reg.isr,
      leaderEpochStartOffset: args.log.logEndOffset,
      highWatermark: args.log.highWatermark,
      replicaLagTimeMaxMs: args.replicaLagTimeMaxMs,
      nowMs: args.clock.monotonicMs(),
      ...(args.expansionRetryMaxMs !== undefined && { expansionRetryMaxMs: args.expansionRetryMaxMs }),
    })
    this.#offDurable = args.log.onLocalDurableEnd(() => this.#updateHighWatermark())
    this.#updateHighWatermark()
  }

  get topic(): string {
    return this.#a.topic
  }

  get partition(): number {
    return this.#a.partition
  }

  get leaderEpoch(): number {
    return this.#state.leaderEpoch
  }

  get isr(): readonly number[] {
    return this.#state.isr
  }

  get isrSize(): number {
    return this.#state.isr.length
  }

  get minInsyncReplicas(): number {
    return this.#a.minInsyncReplicas
  }

  /** The partition's replica count (its replication factor). */
  get replicaCount(): number {
    return this.#a.registration.replicas.length
  }

  get resigned(): boolean {
    return this.#resigned
  }

  isReplica(brokerId: number): boolean {
    return this.#state.isReplica(brokerId)
  }

  followerLogEnd(brokerId: number): number {
    return this.#state.followerLogEnd(brokerId)
  }

  onResigned(listener: () => void): () => void {
    if (this.#resigned) {
      listener()
      return () => {}
    }
    this.#resignedListeners.add(listener)
    return () => void this.#resignedListeners.delete(listener)
  }

  replicaFetched(replicaId: number, fetchOffset: number): void {
    if (this.#resigned) return
    const proposal = this.#state.onFollowerFetch(replicaId, fetchOffset, this.#a.log.localDurableEnd, this.#a.clock.monotonicMs())
    this.#updateHighWatermark()
    if (proposal) this.#propose(proposal)
  }

  /** Periodic: drops followers that lagged past replicaLagTimeMaxMs from the ISR (through the controller). */
  checkIsr(): void {
    if (this.#resigned) return
    const proposal = this.#state.maybeShrinkIsr(this.#a.clock.monotonicMs())
    if (proposal) this.#propose(proposal)
  }

  /** Metadata shows a new registration at this leader epoch (an ISR change committed). */
  applyRegistration(reg: PartitionRegistration): void {
    this.#state.applyIsr(reg.isr, reg.partitionEpoch)
    this.#updateHighWatermark()
  }

  /** Metadata shows this broker unfenced: a follower refused as ineligible may be proposed at its next fetch. */
  followerUnfenced(brokerId: number): void {
    this.#state.followerUnfenced(brokerId)
  }

  /** Stops leading: every acks=all wait on it fails (NOT_LEADER_OR_FOLLOWER). */
  resign(): void {
    if (this.#resigned) return
    this.#resigned = true
    this.#offDurable()
    for (const l of [...this.#resignedListeners]) l()
    this.#resignedListeners.clear()
  }

  #updateHighWatermark(): void {
    if (this.#resigned) return
    const hw = this.#state.updateHighWatermark(this.#a.log.localDurableEnd)
    this.#a.log.advanceHighWatermark(hw)
  }

  #propose(p: IsrProposal): void {
    const { topic, partition } = this.#a
    this.#a.logger.info({ topic, partition, isr: this.#state.isr, newIsr: p.newIsr, partitionEpoch: p.partitionEpoch }, 'proposing an ISR change')
    this.#a.alterPartition.alterPartition({ topic, partition, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, newIsr: p.newIsr }).then(
      (reg) => {
        if (reg.leaderEpoch !== this.#state.leaderEpoch) return
        this.applyRegistration(reg)
      },
      (e: unknown) => {
        const name = e instanceof SamsaError ? e.errorName : String(e)
        // A fenced follower is not proposed again at its every fetch: it waits for a backoff or its unfencing.
        if (name === 'INELIGIBLE_REPLICA') this.#state.ineligibleReplicaRefused(this.#a.clock.monotonicMs())
        else this.#state.abandonPendingIsrChange()
        this.#a.logger.warn({ topic, partition, newIsr: p.newIsr, error: name }, 'the controller refused the ISR change')
      },
    )
  }
}
