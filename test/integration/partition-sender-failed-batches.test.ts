/**
 * PartitionSender against the real broker core (Broker + Session over MemoryLogStorage, through test/support's
 * CoreLink): the duplicate and sequence answers come from the broker's producer-state rules. The link here only
 * injects transport faults (a stalled fsync's timeout, lost requests, a request overtaken on the way).
 */
import { ErrorCodes, SamsaError, exchanges, readBatchHeader, type ProduceRequest } from '../../packages/shared/src/index.js'
import { afterEach, describe, expect, it } from 'vitest'
import type { Connection } from '../../packages/client-browser/src/connection/connection.js'
import { silentLogger } from '../../packages/client-browser/src/ports.js'
import { ManualClock } from '../../packages/client-browser/src/testing/manual-clock.js'
import { until } from '../../packages/client-browser/src/testing/until.js'
import { PartitionSender, type PartitionSenderDeps } from '../../packages/client-browser/src/producer/partition-sender.js'
import type { ClosedBatch } from '../../packages/client-browser/src/producer/record-accumulator.js'
import type { Broker } from '../../packages/server/src/broker/broker.js'
import { CoreLink, startCoreBrokerCore, valuesOf } from '../support/core-broker.js'

const te = new TextEncoder()
/** Above the broker's maxRecordBytes (1 KiB here): the broker refuses the batch with MESSAGE_TOO_LARGE. */
const TOO_LARGE = 'x'.repeat(2_000)

/**
 * One broker (topic t, one partition) behind a link with transport faults: `stalled` = the broker handles the
 * request (appends or answers a duplicate) but the answer is REQUEST_TIMED_OUT (slow fsync).
 */
const started: Broker[] = []
afterEach(async () => {
  await Promise.all(started.splice(0).map((b) => b.shutdown()))
})

class FaultyBroker {
  stalled = false
  requests = 0
  /** Requests for this base sequence fail with a lost connection (never reaching the broker) while the count lasts. */
  lose: { baseSequence: number; times: number } | null = null
  /** The request for this base sequence arrives only after the next request (two connections to one broker race). */
  overtaken: { baseSequence: number; arrive: (() => void) | null } | null = null
  /** Batches the broker appended (not answered as duplicates), in order: what a follower would replicate. */
  readonly appended: Uint8Array[] = []

  private constructor(readonly core: Broker, readonly link: CoreLink) {}

  static async start(): Promise<FaultyBroker> {
    const core = await startCoreBrokerCore({ maxRecordBytes: 1024 })
    started.push(core)
    await core.createTopic('t', 1)
    return new FaultyBroker(core, await CoreLink.open(core))
  }

  /** The partition's record values, from the broker's log. */
  log(): Promise<string[]> {
    return valuesOf(this.core, 't', 0)
  }

  /** Appends `batches` as they are (a follower catching up with the leader that appended them). */
  async replicate(batches: readonly Uint8Array[]): Promise<void> {
    for (const batch of batches) await this.link.request(exchanges.produce, { topic: 't', partition: 0, acks: -1, timeoutMs: 1000, batch })
  }

  request(ex: typeof exchanges.produce, req: ProduceRequest): Promise<unknown> {
    const seq = readBatchHeader(req.batch).baseSequence
    const held = this.overtaken
    if (held?.baseSequence === seq && held.arrive === null) {
      return new Promise<void>((resolve) => (held.arrive = resolve)).then(() => this.request(ex, req))
    }
    if (held?.arrive) {
      this.overtaken = null
      const answer = this.request(ex, req)
      held.arrive()
      return answer
    }
    this.requests++
    if (this.lose && this.lose.baseSequence === seq && this.lose.times-- > 0) return Promise.reject(new SamsaError(ErrorCodes.NETWORK_EXCEPTION))
    const stalled = this.stalled
    return this.link.request(ex, req).then((r) => {
      if (!r.duplicate) this.appended.push(req.batch)
      if (stalled) throw new SamsaError(ErrorCodes.REQUEST_TIMED_OUT)
      return r
    })
  }

}

/** A sender routed to `broker` (any object with the produce request), with the test's overrides of its deps. */
function sender(broker: unknown, overrides: Partial<PartitionSenderDeps> = {}) {
  return new PartitionSender('t', 0, {
    route: () => Promise.resolve({ conn: broker as Connection, leader: null }),
    clock: { now: () => 0, setTimeout: (fn: () => void) => setTimeout(fn, 0), clearTimeout: (t) => clearTimeout(t as NodeJS.Timeout) },
    random: () => 0.5,
    logger: silentLogger,
    acks: -1,
    timeoutMs: 1000,
    maxInFlight: 5,
    maxRetries: 2,
    retryBackoff: { baseMs: 1, capMs: 1 },
    identity: { producerId: 7, producerEpoch: 0 },
    onStaleMetadata: () => {},
    ...overrides,
  })
}

function batch(values: string[]) {
  const results: Promise<number>[] = []
  const waiters = values.map(() => {
    let w!: { resolve: (o: number) => void; reject: (e: Error) => void }
    results.push(new Promise<number>((resolve, reject) => (w = { resolve, reject })))
    return w
  })
  results.forEach((p) => p.catch(() => {}))
  const closed: ClosedBatch = { topic: 't', partition: 0, records: values.map((v) => ({ key: null, value: te.encode(v), headers: [], timestamp: 1 })), waiters, sizeBytes: 0 }
  return { closed, results }
}

describe('PartitionSender with failed batches', () => {
  it('sends a batch in the frame it was encoded in: a resend reuses that frame with a new head, and the outbox holds a view of the very bytes sent', async () => {
    const broker = await FaultyBroker.start()
    const sent: ProduceRequest[] = []
    const recording = { request: (ex: typeof exchanges.produce, req: ProduceRequest) => (sent.push(req), broker.request(ex, req)) }
    const persisted: Uint8Array[] = []
    const s = sender(recording, { persist: async (b) => void persisted.push(b.bytes), unpersist: () => {} })
    broker.lose = { baseSequence: 0, times: 2 } // two lost requests (the connection dropped): resent, same sequence
    const a = batch(['a0', 'a1'])
    s.enqueue(a.closed)
    expect(await Promise.all(a.results)).toEqual([0, 1])
    expect(sent).toHaveLength(3)
    const frame = sent[0]!.frame!
    for (const req of sent) {
      expect(req.frame).toBe(frame)
      expect(req.batch).toBe(sent[0]!.batch)
    }
    expect(frame.subarray(frame.length - sent[0]!.batch.length)).toEqual(sent[0]!.batch)
    expect(persisted).toHaveLength(1) // written once, before the first request
    expect(persisted[0]).toBe(sent[0]!.batch)
    expect(broker.appended).toEqual([sent[0]!.batch])
    expect(await broker.log()).toEqual(['a0', 'a1'])
  })

  it('an acknowledged record is in the log even after an earlier batch failed ambiguously (appended, then timed out)', async () => {
    const broker = await FaultyBroker.start()
    const time = new ManualClock()
    const s = sender(broker, { clock: time })
    broker.stalled = true
    const a = batch(['a0', 'a1'])
    let aSettled = false
    void Promise.allSettled(a.results).then(() => (aSettled = true))
    s.enqueue(a.closed)
    // More attempts than maxRetries allows for an error that says nothing about whether the batch is in the log.
    // Each retry waits its backoff on the manual clock: move it 1 ms at a time (the backoff's cap) while waiting.
    const runClockUntil = (done: () => boolean, what: string) =>
      until(
        () => {
          time.advance(1)
          return done()
        },
        { what },
      )
    await runClockUntil(() => broker.requests >= 6, 'six attempts of the stalled batch')
    expect(broker.requests).toBeGreaterThanOrEqual(6)
    expect(aSettled).toBe(false)
    broker.stalled = false // the fsync finished: 'a0', 'a1' are durable and visible
    const c = batch(['c0', 'c1'])
    s.enqueue(c.closed)
    await runClockUntil(() => aSettled, 'the stalled batch to be answered once the fsync finished')
    expect(await Promise.all(a.results)).toEqual([0, 1])
    const offsets = await Promise.all(c.results)
    const log = await broker.log()
    expect(offsets.map((o) => log[o])).toEqual(['c0', 'c1'])
    expect(log).toEqual(['a0', 'a1', 'c0', 'c1'])
  })

  it('the retry backoff starts again from its base once a batch is acknowledged (a later fault does not inherit an earlier one\'s delay)', async () => {
    const broker = await FaultyBroker.start()
    const delays: number[] = []
    const clock = { now: () => 0, setTimeout: (fn: () => void, ms: number) => (delays.push(ms), setTimeout(fn, 0)), clearTimeout: (t: unknown) => clearTimeout(t as NodeJS.Timeout) }
    const s = sender(broker, { clock, retryBackoff: { baseMs: 100, capMs: 100_000 }, maxRetries: 10 })
    const fault = async (values: string[]) => {
      broker.stalled = true
      const requestsBefore = broker.requests
      const b = batch(values)
      s.enqueue(b.closed)
      await until(() => broker.requests >= requestsBefore + 4, { what: `four attempts of ${values[0]}` })
      broker.stalled = false
      return Promise.all(b.results)
    }
    await fault(['a'])
    const first = [...delays]
    delays.length = 0
    await fault(['b'])
    expect(first.slice(0, 3)).toEqual([50, 100, 200])
    expect(delays.slice(0, 3)).toEqual([50, 100, 200])
    expect(await broker.log()).toEqual(['a', 'b'])
  })

  it('a batch refused as out of order behind an earlier batch that keeps being resent waits for it, however many rounds it takes', async () => {
    const broker = await FaultyBroker.start()
    const s = sender(broker)
    const z = batch(['z0']) // the broker has state for the producer: a later sequence is out of order, not a fresh start
    s.enqueue(z.closed)
    await Promise.all(z.results)
    broker.lose = { baseSequence: 1, times: 6 } // more rounds than maxRetries (2): the later batch must not spend its attempts
    const a = batch(['a0', 'a1'])
    const b = batch(['b0', 'b1'])
    s.enqueue(a.closed)
    s.enqueue(b.closed)
    await expect(Promise.all([...a.results, ...b.results])).resolves.toEqual([1, 2, 3, 4])
    expect(await broker.log()).toEqual(['z0', 'a0', 'a1', 'b0', 'b1'])
  })

  it('a batch that overtook an earlier unacknowledged one on the way (refused as out of order, the earlier one then appended) is resent, not failed', async () => {
    const broker = await FaultyBroker.start()
    const s = sender(broker)
    const z = batch(['z0']) // the broker has state for the producer: a later sequence is out of order, not a fresh start
    s.enqueue(z.closed)
    await Promise.all(z.results)
    broker.overtaken = { baseSequence: 1, arrive: null }
    const a = batch(['a0', 'a1'])
    const b = batch(['b0', 'b1'])
    s.enqueue(a.closed)
    s.enqueue(b.closed)
    await expect(Promise.all([...a.results, ...b.results])).resolves.toEqual([1, 2, 3, 4])
    expect(await broker.log()).toEqual(['z0', 'a0', 'a1', 'b0', 'b1'])
  })

  it('a fresh producer whose first batch is rejected while the next is appended keeps producing', async () => {
    const broker = await FaultyBroker.start()
    const s = sender(broker)
    const a = batch([TOO_LARGE])
    const b = batch(['b0', 'b1'])
    s.enqueue(a.closed)
    s.enqueue(b.closed)
    await expect(a.results[0]).rejects.toThrow()
    expect(await Promise.all(b.results)).toEqual([0, 1])
    const c = batch(['c0'])
    s.enqueue(c.closed)
    const [offset] = await Promise.all(c.results)
    expect((await broker.log())[offset!]).toBe('c0')
  })

  it('a resend the broker already had is acknowledged with its original offsets and logged as a duplicate', async () => {
    const broker = await FaultyBroker.start()
    let first = true
    // The first request is appended, then its answer is lost (a blackhole after the leader replicated it).
    const lossy = { request: (ex: typeof exchanges.produce, req: ProduceRequest) => broker.request(ex, req).then(() => Promise.reject(new SamsaError(ErrorCodes.REQUEST_TIMED_OUT))) }
    const lines: string[] = []
    const logger = { ...silentLogger, info: (_fields: object, msg?: string) => void lines.push(msg ?? ''), child: () => logger }
    const s = sender(null, {
      route: () => Promise.resolve({ conn: (first ? ((first = false), lossy) : broker) as unknown as Connection, leader: null }),
      logger,
    })
    const a = batch(['a0', 'a1'])
    s.enqueue(a.closed)
    expect(await Promise.all(a.results)).toEqual([0, 1])
    expect(await broker.log()).toEqual(['a0', 'a1'])
    expect(lines.filter((l) => l.startsWith('batch acknowledged as a duplicate'))).toHaveLength(1)
  })

  it('a batch whose request timed out (no answer: the leader may be gone) asks for fresh metadata and is resent to the leader it names', async () => {
    let silentRequests = 0
    const silent = { request: () => (silentRequests++, Promise.reject(new SamsaError(ErrorCodes.REQUEST_TIMED_OUT))) } // blackholed: nothing arrives
    const current = await FaultyBroker.start()
    let routed: unknown = silent
    const s = sender(null, {
      route: () => Promise.resolve({ conn: routed as Connection, leader: null }),
      onStaleMetadata: () => void (routed = current),
    })
    const a = batch(['a0', 'a1'])
    s.enqueue(a.closed)
    const outcome = await Promise.race([Promise.all(a.results), until(() => silentRequests >= 20, { what: 'resends' }).then(() => 'still resending to the silent broker')])
    expect(outcome).toEqual([0, 1])
    expect(silentRequests).toBe(1)
    expect(await current.log()).toEqual(['a0', 'a1'])
  })

  it('after the leader lost acknowledged batches (it names a lower expected sequence), later batches continue at its sequence instead of failing for ever', async () => {
    const broker = await FaultyBroker.start()
    const s = sender(broker)
    for (const values of [['a0', 'a1'], ['b0'], ['c0', 'c1']]) {
      const x = batch(values)
      s.enqueue(x.closed)
      await Promise.all(x.results)
    }
    // A power loss (fsync never) took b0, c0, c1 although they were acknowledged: the log and its producer state end
    // after a0, a1, so the broker expects sequence 2 again.
    await broker.core.localReplica('t', 0).truncateTo(2)
    const d = batch(['d0', 'd1'])
    const e = batch(['e0'])
    s.enqueue(d.closed)
    s.enqueue(e.closed)
    await expect(Promise.all([...d.results, ...e.results])).resolves.toEqual([2, 3, 4])
    const f = batch(['f0'])
    s.enqueue(f.closed)
    await expect(Promise.all(f.results)).resolves.toEqual([5])
    expect(await broker.log()).toEqual(['a0', 'a1', 'd0', 'd1', 'e0', 'f0'])
  })

  it('OUT_OF_ORDER_SEQUENCE_NUMBER from a former leader is resent (same sequence) to the current one; from the current leader, naming a lower sequence, the producer continues there', async () => {
    const stale = await FaultyBroker.start() // broker 1, leader epoch 0: missing what broker 2 acknowledged
    const current = await FaultyBroker.start() // broker 2, leader epoch 1
    let routed = { broker: stale, ref: { leader: 1, leaderEpoch: 0 } }
    let refreshTo = routed
    const s = sender(null, {
      route: () => Promise.resolve({ conn: routed.broker as unknown as Connection, leader: routed.ref }),
      leader: () => Promise.resolve(routed.ref),
      onStaleMetadata: () => void (routed = refreshTo),
    })
    const a = batch(['a'])
    s.enqueue(a.closed)
    expect(await Promise.all(a.results)).toEqual([0])
    // Leadership moved to broker 2 (which replicated 'a') and it acknowledged 'b'; then metadata from a node restarted
    // on old metadata routes the sender back to broker 1, which answers 'c' (sequence 2) OUT_OF_ORDER (it expects 1).
    await current.replicate(stale.appended)
    routed = { broker: current, ref: { leader: 2, leaderEpoch: 1 } }
    const b = batch(['b'])
    s.enqueue(b.closed)
    expect(await Promise.all(b.results)).toEqual([1])
    refreshTo = routed
    routed = { broker: stale, ref: { leader: 1, leaderEpoch: 0 } }
    const c = batch(['c'])
    s.enqueue(c.closed)
    expect(await Promise.all(c.results)).toEqual([2])
    expect(await current.log()).toEqual(['a', 'b', 'c'])
    expect(await stale.log()).toEqual(['a'])
    // The refresh names the broker that answered OUT_OF_ORDER: its answer stands. It names the sequence it expects,
    // below what was acknowledged ('b', 'c' are not in its log), every earlier batch is acknowledged, so the producer
    // continues at that sequence there (the leader lost acknowledged records; nothing more can be done about them).
    routed = refreshTo = { broker: stale, ref: { leader: 1, leaderEpoch: 0 } }
    const d = batch(['d'])
    s.enqueue(d.closed)
    expect(await Promise.all(d.results)).toEqual([1])
    expect(await stale.log()).toEqual(['a', 'd'])
  })

  it('a batch waiting on a leader that never answers is resent to a newer leader once metadata names one (same sequence, deduplicated)', async () => {
    const zombie = { request: () => new Promise<never>(() => {}) } // accepts, never commits, never answers
    const current = await FaultyBroker.start()
    let routed: { broker: unknown; ref: { leader: number; leaderEpoch: number } } = { broker: zombie, ref: { leader: 1, leaderEpoch: 3 } }
    const watchers: { pastEpoch: number; onMoved: () => void }[] = []
    const stale: unknown[][] = []
    const s = sender(null, {
      route: () => Promise.resolve({ conn: routed.broker as unknown as Connection, leader: routed.ref }),
      leader: () => Promise.resolve(routed.ref),
      onStaleMetadata: (...args) => void stale.push(args),
      onLeaderMoved: (_t, _p, pastEpoch, onMoved) => {
        const w = { pastEpoch, onMoved }
        watchers.push(w)
        return () => void watchers.splice(watchers.indexOf(w), 1)
      },
    })
    const a = batch(['a0', 'a1'])
    const b = batch(['b0'])
    s.enqueue(a.closed)
    s.enqueue(b.closed)
    await until(() => watchers.length === 2, { what: 'both batches waiting on leader epoch 3' })
    expect(watchers.map((w) => w.pastEpoch)).toEqual([3, 3])
    routed = { broker: current, ref: { leader: 2, leaderEpoch: 4 } }
    for (const w of [...watchers]) w.onMoved()
    expect(await Promise.all([...a.results, ...b.results])).toEqual([0, 1, 2])
    expect(await current.log()).toEqual(['a0', 'a1', 'b0'])
    expect(watchers).toEqual([]) // every watch is cancelled once its request settles
    // The refresh names the epoch the batches went to, so metadata the watch already moved on is kept.
    expect(stale).toContainEqual(['t', 0, { leader: 1, leaderEpoch: 3 }])
    expect(stale.every((args) => args.length === 3)).toBe(true)
  })
})
