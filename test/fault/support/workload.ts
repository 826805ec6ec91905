/**
 * @module The client side of a fault scenario: a topic with replication factor 3, SDK producers (idempotent, with
 * retries) sending on a fixed schedule and an SDK consumer reading everything from the start, every operation
 * recorded in a HistoryRecorder, plus a sampler of each node's view of the partition leaders and of the controller.
 * `finish()` stops the schedule, lets every send settle, waits for the cluster to heal and the consumer to catch up,
 * drains the topic with a fresh client and checks the whole history (cluster-history-checker.ts).
 *
 * Scenario files keep only their faults: start a FaultCluster, `Workload.start`, inject faults at times of the
 * schedule (`waitElapsed`, `nextAckAfter`), then `finish()` and `expectClean()`.
 */
import { expect } from 'vitest'
import type { Gap, Logger, SamsaClient } from '@samsa/client-browser'
import { checkClusterHistory, describeClusterReport, HistoryRecorder, type ClusterHistoryReport, type Op } from '../../support/cluster-history-checker.js'
import { until } from '../../support/until.js'
import type { FaultCluster } from './cluster.js'
import { createReplicatedTopic, DURATION_MS, drainTopic, LONG, nodeClient, SEED, sendErrorCounts, startSampler } from './observe.js'

export { DURATION_MS, LONG, SEED, seededRandom } from './observe.js'

export interface WorkloadOptions {
  readonly topic: string
  readonly partitions?: number
  readonly producers?: number
  readonly minInsyncReplicas?: number
  /** One send per producer per tick. Default 5 ms (~200 sends/s per producer offered). */
  readonly sendIntervalMs?: number
  /** Sends go on until `finish()`, which waits for at least this much of the schedule; never past 5× it. */
  readonly durationMs?: number
  /** Client bootstrap URLs; default every node's proxy. */
  readonly brokers?: readonly string[]
  /** Request timeout of the SDK clients (ms). Default 5 000. */
  readonly requestTimeoutMs?: number
  /** Heartbeat of the SDK clients: a ping this many ms after the last pong (SDK default 15 000). */
  readonly heartbeatIntervalMs?: number
  /** A ping unanswered this long closes the socket as half-open (SDK default 10 000). */
  readonly heartbeatTimeoutMs?: number
  /** The producers' broker-side produce timeout (`timeoutMs`; the SDK waits 5 000 ms more for the answer). SDK default 30 000. */
  readonly produceTimeoutMs?: number
  /**
   * Where the consumer continues after a gap (SubscribeOptions.reset). Default none: a position the brokers cannot
   * serve fails the subscription. With 'earliest' a truncation gap (the log lost records the consumer had read) is
   * recorded in `gaps` and the reads after it count as a new consumer session (`c1`, `c1~1`, …), so the checker's
   * per-session order rule applies to each session: a scenario that allows data loss sets it.
   */
  readonly consumerReset?: 'earliest'
}

/** A gap the consumer reported, when (recorder clock), and the consumer session that continued after it. */
export interface RecordedGap {
  readonly timeMs: number
  readonly gap: Gap
  readonly session: string
}

export interface WorkloadResult {
  readonly report: ClusterHistoryReport
  readonly acked: readonly Op[]
  readonly elapsedS: number
  /** Sends that ended unknown or failed, by error message. */
  readonly sendErrors: Readonly<Record<string, number>>
  /** The leader epoch each drained record was written at, by `${partition}/${offset}` (who wrote it). */
  readonly leaderEpochs: ReadonlyMap<string, number>
}

export class Workload {
  readonly rec = new HistoryRecorder()
  readonly topic: string
  readonly cluster: FaultCluster
  readonly t0: number
  /** The SDK's log lines (warn and above), with the client that wrote them; printed on failure. */
  readonly sdkLog: string[] = []
  /** How many times each SDK log message was written, at every level (e.g. resends acknowledged as duplicates). */
  readonly sdkMessages = new Map<string, number>()
  readonly #clients: SamsaClient[] = []
  /** Gaps the consumer reported (only with consumerReset). */
  readonly gaps: RecordedGap[] = []
  /** Errors that ended the consumer's subscription (it then reads nothing more). */
  readonly consumerErrors: string[] = []
  readonly #opts: Required<Omit<WorkloadOptions, 'brokers' | 'heartbeatIntervalMs' | 'heartbeatTimeoutMs' | 'produceTimeoutMs' | 'consumerReset'>> &
    Pick<WorkloadOptions, 'heartbeatIntervalMs' | 'heartbeatTimeoutMs' | 'produceTimeoutMs' | 'consumerReset'> & { brokers: readonly string[] }
  readonly #inFlight = new Set<Promise<void>>()
  #sent = 0
  #stopSending: (() => void) | null = null
  #sending: Promise<void> = Promise.resolve()
  #sampler: { stop(): Promise<void> } | null = null
  #consumerClose: (() => void) | null = null

  private constructor(cluster: FaultCluster, opts: WorkloadOptions) {
    this.cluster = cluster
    this.topic = opts.topic
    this.#opts = {
      partitions: 1, producers: 1, minInsyncReplicas: 2, sendIntervalMs: 5, durationMs: DURATION_MS, requestTimeoutMs: 5_000,
      brokers: cluster.brokerUrls, ...opts,
    }
    this.t0 = this.rec.now()
  }

  /** Creates the topic (RF 3), waits for a full ISR on every partition, starts the consumer, the producers and the sampler. */
  static async start(cluster: FaultCluster, opts: WorkloadOptions): Promise<Workload> {
    const w = new Workload(cluster, opts)
    const { topic, partitions, minInsyncReplicas } = w.#opts
    await createReplicatedTopic(cluster, { topic, partitions, minInsyncReplicas })
    w.#sampler = startSampler(cluster, w.rec, topic, partitions)
    w.#startConsumer()
    await w.#startProducers()
    return w
  }

  client(id: string): SamsaClient {
    const c = nodeClient({
      logger: this.#logger({ client: id }), brokers: this.#opts.brokers, clientId: id, requestTimeoutMs: this.#opts.requestTimeoutMs,
      ...(this.#opts.heartbeatIntervalMs !== undefined && { heartbeatIntervalMs: this.#opts.heartbeatIntervalMs }),
      ...(this.#opts.heartbeatTimeoutMs !== undefined && { heartbeatTimeoutMs: this.#opts.heartbeatTimeoutMs }),
    })
    this.#clients.push(c)
    return c
  }

  /** ms since the workload started. */
  elapsed(): number {
    return this.rec.now() - this.t0
  }

  /** Resolves once `ms` of the schedule have passed. */
  waitElapsed(ms: number): Promise<void> {
    return until(() => this.elapsed() >= ms, { timeoutMs: ms + 60_000, what: `${ms} ms of the schedule` }).then(() => {})
  }

  /**
   * The first acknowledgement after `timeMs` (recorder clock) of a send invoked after it (a send already on its way
   * when the fault hit can be answered a moment later and says nothing about recovery; `invokedAfter: false` counts
   * it too); with `partition`, only sends to that partition. Waits up to `timeoutMs` (default 30 000).
   */
  nextAckAfter(timeMs: number, opts: number | { timeoutMs?: number; partition?: number; invokedAfter?: boolean } = {}, partitionArg?: number): Promise<Op> {
    const o = typeof opts === 'number' ? { timeoutMs: opts, partition: partitionArg } : opts
    const { timeoutMs = 30_000, partition, invokedAfter = true } = o
    const find = () => {
      const invokedLater = new Set<number>()
      for (const op of this.rec.ops) {
        if (op.f !== 'send' || (partition !== undefined && op.partition !== partition)) continue
        if (op.type === 'invoke' && op.timeMs > timeMs) invokedLater.add(op.id)
        if (op.type === 'ok' && op.timeMs > timeMs && (!invokedAfter || invokedLater.has(op.id))) return op
      }
      return undefined
    }
    return until(find, { timeoutMs, what: `an acknowledged write${partition === undefined ? '' : ` to partition ${partition}`} after the fault` })
  }

  /**
   * The first acknowledgement of a send invoked after `timeMs` (by its ack time). After a fault that silences the
   * leader, such a send cannot have been answered by the old path: its ack measures the recovery. Waits up to timeoutMs.
   */
  nextAckInvokedAfter(timeMs: number, timeoutMs = 30_000): Promise<Op> {
    return until(() => {
      const late = new Set<number>()
      for (const o of this.rec.ops) if (o.type === 'invoke' && o.f === 'send' && o.timeMs > timeMs) late.add(o.id)
      return this.rec.ops.find((o) => o.type === 'ok' && late.has(o.id))
    }, { timeoutMs, what: 'an acknowledged write sent after the fault' })
  }

  /** Acknowledged sends so far. */
  ackedCount(): number {
    return this.rec.ops.reduce((n, o) => n + (o.type === 'ok' && o.f === 'send' ? 1 : 0), 0)
  }

  #logger(bindings: object): Logger {
    const line = (level: string) => (fields: object, msg?: string) => {
      this.sdkMessages.set(msg ?? '', (this.sdkMessages.get(msg ?? '') ?? 0) + 1)
      if ((level === 'debug' || level === 'info') && !process.env.FAULT_DEBUG) return
      if (this.sdkLog.length < 20_000) this.sdkLog.push(`${this.elapsed().toFixed(0)} ${level} ${msg ?? ''} ${JSON.stringify({ ...bindings, ...fields })}`)
    }
    return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error'), child: (b) => this.#logger({ ...bindings, ...b }) }
  }

  #startConsumer(): void {
    let session = 'c1'
    const reset = this.#opts.consumerReset
    const sub = this.client('fault-consumer').consumer().subscribe(this.topic, {
      from: 'earliest',
      ...(reset && { reset }),
      onRecord: (r) => this.rec.read(session, { partition: r.partition, offset: r.offset }, r.text()),
    })
    sub.onGap((gap) => {
      if (gap.reason === 'truncation') session = `c1~${this.gaps.length + 1}`
      this.gaps.push({ timeMs: this.rec.now(), gap, session })
    })
    sub.onError((e) => {
      this.consumerErrors.push(e.message)
      this.sdkLog.push(`${this.elapsed().toFixed(0)} error consumer subscription failed: ${e.message}`)
    })
    this.#consumerClose = () => sub.close()
  }

  async #startProducers(): Promise<void> {
    const { producers: n, sendIntervalMs, durationMs, partitions } = this.#opts
    const producers = Array.from({ length: n }, (_, i) => this.client(`fault-producer-${i + 1}`).producer({
      acks: 'all', idempotent: true, lingerMs: 5, maxRetries: 1_000,
      ...(this.#opts.produceTimeoutMs !== undefined && { timeoutMs: this.#opts.produceTimeoutMs }),
    }))
    await Promise.all(producers.map((p) => p.ready))
    const maxSends = Math.ceil((5 * durationMs) / sendIntervalMs)
    const counters = producers.map(() => 0)
    let timer: ReturnType<typeof setInterval> | null = null
    let stop!: () => void
    const stopped = new Promise<void>((r) => (stop = r))
    this.#stopSending = () => {
      if (timer) clearInterval(timer)
      timer = null
      stop()
    }
    timer = setInterval(() => {
      if (this.elapsed() > 5 * durationMs) return this.#stopSending!()
      producers.forEach((producer, i) => {
        const k = counters[i]!
        if (k >= maxSends) return
        counters[i] = k + 1
        this.#sent++
        const process = `p${i + 1}`
        const value = `${process}-${k}`
        const partition = k % partitions
        const op = this.rec.invoke('send', process, value, partition)
        const done = producer.send(this.topic, [{ value, partition }]).then(
          ([m]) => op.ok({ partition: m!.partition, offset: m!.offset }),
          // The SDK retries lost connections itself; a rejection may still have reached the log.
          (e: unknown) => op.unknown(e),
        )
        this.#inFlight.add(done)
        void done.finally(() => this.#inFlight.delete(done))
      })
    }, sendIntervalMs)
    this.#sending = stopped
  }

  /**
   * Ends the schedule and checks the history: every send settles, the cluster is healthy with a full ISR, the
   * consumer reads up to the highest acknowledged offset of every partition, a fresh client drains the topic.
   */
  async finish(): Promise<WorkloadResult> {
    await this.waitElapsed(this.#opts.durationMs)
    this.#stopSending?.()
    await this.#sending
    await until(async () => (await Promise.all([...this.#inFlight]), this.#inFlight.size === 0), { timeoutMs: 90_000, what: 'every send to settle' })
    await this.cluster.waitHealthy(60_000)
    for (let p = 0; p < this.#opts.partitions; p++) await this.cluster.waitLeader(this.topic, p, (m) => m.isr?.length === 3, 60_000)
    const acked = this.rec.ops.filter((o) => o.f === 'send' && o.type === 'ok')
    for (let p = 0; p < this.#opts.partitions; p++) {
      const offsets = acked.filter((o) => o.partition === p).map((o) => o.offset!)
      if (offsets.length === 0) continue
      const max = Math.max(...offsets)
      await until(() => this.rec.ops.some((o) => o.f === 'read' && o.partition === p && o.offset! >= max), { timeoutMs: 30_000, what: `the consumer to read ${this.topic}/${p} offset ${max}` }).catch((e: unknown) => {
        const lastRead = this.rec.ops.filter((o) => o.f === 'read' && o.partition === p).at(-1)
        console.log(`consumer stalled at ${JSON.stringify(lastRead)}; its log (last 60):\n${this.sdkLog.filter((l) => l.includes('fault-consumer')).slice(-60).join('\n')}`)
        for (const n of this.cluster.nodes.values()) {
          const roles = (n.process?.logs ?? []).filter((l) => typeof l.msg === 'string' && /became|resign|controlled/.test(l.msg))
          console.log(`node ${n.id} roles:\n${roles.map((l) => JSON.stringify(l)).join('\n')}`)
        }
        throw e
      })
    }
    this.#consumerClose?.()
    await this.#sampler?.stop()
    const drained = await drainTopic(this.client('fault-drain'), this.topic)
    const leaderEpochs = new Map<string, number>(drained.map((r) => [`${r.partition}/${r.offset}`, r.leaderEpoch]))
    const report = checkClusterHistory({ ops: this.rec.ops, drained, leaderSamples: this.rec.leaderSamples, controllerSamples: this.rec.controllerSamples })
    const sendErrors = sendErrorCounts(this.rec.ops)
    const elapsedS = acked.length > 0 ? (acked.at(-1)!.timeMs - this.t0) / 1000 : 0
    return { report, acked, elapsedS, sendErrors, leaderEpochs }
  }

  /** Prints the scenario's report: operation counts, rate, seed, and the caller's extra lines. */
  print(name: string, r: WorkloadResult, extra: readonly string[] = []): void {
    const lines = [
      describeClusterReport(r.report),
      `acknowledged ${r.acked.length} in ${r.elapsedS.toFixed(1)} s (${(r.acked.length / Math.max(r.elapsedS, 0.001)).toFixed(0)}/s); seed ${SEED}${LONG ? ' (long tier)' : ''}`,
      `unknown/failed sends by error: ${JSON.stringify(r.sendErrors)}`,
      ...(this.gaps.length > 0 ? [`consumer gaps: ${this.gaps.map((g) => `${g.gap.reason} [${g.gap.from}, ${g.gap.to}) at ${(g.timeMs - this.t0).toFixed(0)} ms`).join('; ')}`] : []),
      ...(this.consumerErrors.length > 0 ? [`consumer subscription failed: ${this.consumerErrors.join('; ')}`] : []),
      ...extra,
    ]
    console.log(lines.map((l) => `[${name}] ${l}`).join('\n'))
  }

  /**
   * The scenario's verdict: zero anomalies, no send refused by a fault (an idempotent producer with retries follows
   * the new leader), and ≥ 100 acknowledged writes/s over the schedule. On failure the SDK's warnings and each node's
   * last log lines are printed.
   */
  expectClean(r: WorkloadResult, opts: { minWritesPerSecond?: number } = {}): void {
    const clean = r.report.anomalies.length === 0 && Object.keys(r.sendErrors).length === 0
    if (!clean || process.env.FAULT_DEBUG) this.dump()
    expect(r.report.anomalies, describeClusterReport(r.report)).toEqual([])
    expect(r.sendErrors).toEqual({})
    expect(this.consumerErrors).toEqual([])
    expect(r.acked.length / Math.max(r.elapsedS, 0.001)).toBeGreaterThanOrEqual(opts.minWritesPerSecond ?? 100)
  }

  /** Prints the SDK's last warnings and each running node's last log lines (info and above), for a failed run. */
  dump(lines = 25): void {
    console.log(`SDK warnings (last ${lines + 15}):\n${this.sdkLog.slice(-(lines + 15)).join('\n')}`)
    for (const n of this.cluster.nodes.values()) {
      console.log(`node ${n.id} log:\n${(n.process?.logs ?? []).filter((l) => l.level >= 30).slice(-lines).map((l) => JSON.stringify(l)).join('\n')}`)
    }
  }

  /**
   * Closes every client (idempotent). A client's close flushes its producers for at most 10 s (a failed run can leave
   * a broker that never answers); what is left unacknowledged then is not waited for.
   */
  async close(): Promise<void> {
    this.#stopSending?.()
    await this.#sampler?.stop()
    await Promise.all(this.#clients.splice(0).map((c) => c.close({ timeoutMs: 10_000 }).catch(() => {})))
  }
}
