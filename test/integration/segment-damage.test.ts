/**
 * Damaged segment files on restart (reliability.md §2.5): a torn or bit-flipped tail of the active segment is
 * cut back to the last whole batch and reported; damage in an older (sealed, acknowledged) segment makes the
 * broker refuse to open the partition instead of cutting it. Random positions come from a seeded PRNG; the
 * seed of every run is in the test name, so a failure replays.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { describe, expect, it } from 'vitest'
import { exchanges, scanBatches } from '../../packages/shared/src/index.js'
import { startBrokerFixture, type BrokerFixture, type LogLine } from '../support/broker-fixture.js'
import { checkHistory, describeReport, type Ack, type Read } from '../support/history-checker.js'
import { RawConnection } from '../support/raw-connection.js'
import { batchesIn, drainPartition, forgetRecoveryPoint, produceValues, randomInt, seeded, segmentFiles, value, type OnDiskBatch } from '../support/raw-log.js'

const RUNS = 10
const BASE_SEED = 0x5a45
const TOPIC = 'd'
/** Bytes 12..15 of a batch are its partitionLeaderEpoch, which the CRC does not cover (Kafka's format). */
const EPOCH_FIELD = { from: 12, to: 16 }

interface Produced {
  acked: Ack[]
  attempted: string[]
}

/** Produces `batches` batches of 1..6 records to each partition of TOPIC, values numbered per partition. */
async function produce(fx: BrokerFixture, rand: () => number, batches: number, partitions: number, startAt: Record<number, number> = {}): Promise<Produced> {
  const conn = await RawConnection.open(fx.running.url)
  const acked: Ack[] = []
  const attempted: string[] = []
  try {
    for (let p = 0; p < partitions; p++) {
      let n = startAt[p] ?? 0
      for (let b = 0; b < batches; b++) {
        const values = Array.from({ length: randomInt(rand, 1, 7) }, () => value(`p${p}`, n++))
        attempted.push(...values)
        const base = await produceValues(conn, TOPIC, p, values)
        values.forEach((v, i) => acked.push({ partition: p, offset: base + i, value: v }))
      }
    }
  } finally {
    conn.close()
  }
  return { acked, attempted }
}

async function createTopic(fx: BrokerFixture, partitions: number): Promise<void> {
  const conn = await RawConnection.open(fx.running.url)
  try {
    const r = await conn.request(exchanges.createTopic, { name: TOPIC, partitions })
    if (!r.ok) throw r.error
  } finally {
    conn.close()
  }
}

async function drainAll(fx: BrokerFixture, partitions: number): Promise<Read[]> {
  const conn = await RawConnection.open(fx.running.url)
  try {
    const out: Read[] = []
    for (let p = 0; p < partitions; p++) out.push(...(await drainPartition(conn, TOPIC, p)))
    return out
  } finally {
    conn.close()
  }
}

function cutWarnings(logs: readonly LogLine[]): LogLine[] {
  return logs.filter((l) => l.level === 'warn' && typeof l.fields.truncatedBytes === 'number')
}

/** Restart on the same data dir, then check the cut was reported exactly as expected and the log reads as expected. */
async function expectRecoveredTail(fx: BrokerFixture, produced: Produced, file: string, kept: OnDiskBatch[], damaged: OnDiskBatch, cutTo: number, seed: number) {
  const logsBefore = fx.logs.length
  await fx.restart()
  const newLogs = fx.logs.slice(logsBefore)
  const warns = cutWarnings(newLogs)
  expect(warns.length, `seed ${seed}: a warn line reports the cut; got ${JSON.stringify(newLogs.filter((l) => l.level !== 'info'))}`).toBeGreaterThan(0)
  for (const w of warns) {
    expect(String(w.fields.segment)).toContain(basename(file))
    expect(w.fields.position).toBe(damaged.position)
    expect(w.fields.truncatedBytes).toBe(cutTo - damaged.position)
  }
  expect(warns.some((w) => w.fields.topic === TOPIC && w.fields.partition === 0), `seed ${seed}: the warning names the topic and partition`).toBe(true)

  // Everything in batches before the damage is there, nothing after it, and partition 1 is untouched.
  const lostFrom = damaged.header.baseOffset
  const expectedAcks = produced.acked.filter((a) => a.partition !== 0 || a.offset < lostFrom)
  const drained = await drainAll(fx, 2)
  const report = checkHistory({ attempted: produced.attempted, acked: expectedAcks, drained })
  expect(report.ok, `seed ${seed}: ${describeReport(report)}`).toBe(true)
  expect(drained.filter((r) => r.partition === 0).length).toBe(lostFrom)
  expect(kept.at(-1) ? kept.at(-1)!.header.baseOffset + kept.at(-1)!.header.lastOffsetDelta + 1 : 0).toBe(lostFrom)

  // Appends continue at the next offset after the last whole batch.
  const conn = await RawConnection.open(fx.running.url)
  try {
    const base = await produceValues(conn, TOPIC, 0, [value('after', 0), value('after', 1)])
    expect(base, `seed ${seed}: the next append lands right after the last whole batch`).toBe(lostFrom)
    const again = await drainPartition(conn, TOPIC, 0)
    expect(again.map((r) => r.offset)).toEqual(Array.from({ length: lostFrom + 2 }, (_, i) => i))
    expect(again.slice(-2).map((r) => r.value)).toEqual([value('after', 0), value('after', 1)])
  } finally {
    conn.close()
  }
  // And the cut file is exactly what recovery said: the kept batches, then the two new records' batch.
  const after = await batchesIn(file)
  expect(after.slice(0, kept.length).map((b) => b.position)).toEqual(kept.map((b) => b.position))
}

describe('a damaged tail of the active segment is cut back to the last whole batch and reported', () => {
  for (let run = 0; run < RUNS; run++) {
    const seed = BASE_SEED + run
    it(`(a) cut at a random byte inside one of the last batches (seed ${seed})`, async () => {
      const rand = seeded(seed)
      const fx = await startBrokerFixture()
      try {
        await createTopic(fx, 2)
        const produced = await produce(fx, rand, 12, 2)
        await fx.stop()
        const [file, ...more] = (await segmentFiles(fx.dataDir, TOPIC, 0)).reverse()
        expect(more).toEqual([])
        const batches = await batchesIn(file!)
        expect(batches.length).toBe(12)
        // A byte strictly inside one of the last 3 batches: the file ends in the middle of that batch.
        const target = randomInt(rand, batches.length - 3, batches.length)
        const damaged = batches[target]!
        const cutTo = randomInt(rand, damaged.position + 1, damaged.position + damaged.totalBytes)
        const bytes = await readFile(file!)
        await writeFile(file!, bytes.subarray(0, cutTo))
        await expectRecoveredTail(fx, produced, file!, batches.slice(0, target), damaged, cutTo, seed)
      } finally {
        await fx.dispose()
      }
    })

    it(`(b) one flipped byte inside the tail batch (seed ${seed})`, async () => {
      const rand = seeded(seed)
      const fx = await startBrokerFixture()
      try {
        await createTopic(fx, 2)
        const produced = await produce(fx, rand, 12, 2)
        await fx.stop()
        const file = (await segmentFiles(fx.dataDir, TOPIC, 0)).at(-1)!
        const batches = await batchesIn(file)
        const tail = batches.at(-1)!
        // Any byte of the tail batch except the leader-epoch field (not covered by the CRC: see its own test below).
        let at = randomInt(rand, 0, tail.totalBytes - (EPOCH_FIELD.to - EPOCH_FIELD.from))
        if (at >= EPOCH_FIELD.from) at += EPOCH_FIELD.to - EPOCH_FIELD.from
        const bytes = new Uint8Array(await readFile(file))
        bytes[tail.position + at]! ^= randomInt(rand, 1, 256)
        await writeFile(file, bytes)
      await forgetRecoveryPoint(file) // damage no recovery point vouches for (a crash before the first one)
        await forgetRecoveryPoint(file) // damage no recovery point vouches for (a crash before the first one)
        await expectRecoveredTail(fx, produced, file, batches.slice(0, -1), tail, bytes.length, seed)
      } finally {
        await fx.dispose()
      }
    })
  }
})

describe('damage in an older (sealed) segment is never cut: the broker refuses to open the partition', () => {
  for (let run = 0; run < RUNS; run++) {
    const seed = BASE_SEED + 100 + run
    it(`(c) ${run % 2 === 0 ? 'a flipped byte' : 'a cut'} in a random sealed segment (seed ${seed})`, async () => {
      const rand = seeded(seed)
      const fx = await startBrokerFixture({ log: { segmentBytes: 4096 } })
      try {
        await createTopic(fx, 2)
        await produce(fx, rand, 150, 1)
        await fx.stop()
        const files = await segmentFiles(fx.dataDir, TOPIC, 0)
        expect(files.length, 'several segments').toBeGreaterThanOrEqual(3)
        const file = files[randomInt(rand, 0, files.length - 1)]!
        const batches = await batchesIn(file)
        const victim = batches[randomInt(rand, 0, batches.length)]!
        const original = new Uint8Array(await readFile(file))
        let damaged: Uint8Array
        if (run % 2 === 0) {
          damaged = original.slice()
          let at = randomInt(rand, 0, victim.totalBytes - (EPOCH_FIELD.to - EPOCH_FIELD.from))
          if (at >= EPOCH_FIELD.from) at += EPOCH_FIELD.to - EPOCH_FIELD.from
          damaged[victim.position + at]! ^= randomInt(rand, 1, 256)
        } else {
          damaged = original.slice(0, randomInt(rand, victim.position + 1, victim.position + victim.totalBytes))
        }
        await writeFile(file, damaged)
        await forgetRecoveryPoint(file) // damage no recovery point vouches for (a crash before the first one)
        const logsBefore = fx.logs.length
        const err = await fx.restart().then(
          () => null,
          (e: unknown) => e as Error,
        )
        expect(err, `seed ${seed}: the broker must not open a partition whose sealed segment ${basename(file)} is damaged`).not.toBeNull()
        expect(err!.message).toContain(basename(file))
        expect(err!.message).toMatch(/corrupt/i)
        // Never silently cut: the file is byte for byte what we left, and no cut was logged.
        expect(new Uint8Array(await readFile(file))).toEqual(damaged)
        expect(cutWarnings(fx.logs.slice(logsBefore))).toEqual([])
        // Every other segment is untouched too.
        for (const f of files) expect((await batchesIn(f)).length).toBeGreaterThan(0)
      } finally {
        await fx.dispose()
      }
    })
  }
})

describe('the leader-epoch field of a batch is outside the CRC', () => {
  it('a flipped byte there is detected on recovery (the log has only ever had epoch 0) and the batch is cut', async () => {
    const rand = seeded(BASE_SEED + 999)
    const fx = await startBrokerFixture()
    try {
      await createTopic(fx, 1)
      const produced = await produce(fx, rand, 5, 1)
      await fx.stop()
      const file = (await segmentFiles(fx.dataDir, TOPIC, 0)).at(-1)!
      const batches = await batchesIn(file)
      expect(batches.length).toBe(5)
      const tail = batches.at(-1)!
      const bytes = new Uint8Array(await readFile(file))
      // Epoch 0 → 4: still a valid CRC, so only the epoch rule can catch it.
      bytes[tail.position + EPOCH_FIELD.from + 3]! ^= 0x04
      await writeFile(file, bytes)
      await forgetRecoveryPoint(file) // damage no recovery point vouches for (a crash before the first one)
      const logsBefore = fx.logs.length
      // A restart that throws fails the test: the damage is in the active segment's tail, which recovery cuts.
      await fx.restart()
      const warns = cutWarnings(fx.logs.slice(logsBefore))
      expect(warns.length, 'a warn line reports the cut of the batch with an epoch the log never had').toBeGreaterThan(0)
      for (const w of warns) {
        expect(w.fields.topic).toBe(TOPIC)
        expect(w.fields.partition).toBe(0)
        expect(w.fields.position).toBe(tail.position)
        expect(w.fields.truncatedBytes).toBe(tail.totalBytes)
      }

      // What is served is every record before the tail batch, each in a batch stamped with epoch 0, and nothing else.
      const conn = await RawConnection.open(fx.running.url)
      const epochs: number[] = []
      try {
        const r = await conn.request(exchanges.fetch, { topic: TOPIC, partition: 0, offset: 0, maxBytes: 1 << 20, maxWaitMs: 0, minBytes: 0 })
        if (!r.ok) throw r.error
        for (const b of scanBatches(r.value.records)) epochs.push(b.header.partitionLeaderEpoch)
        const drained = await drainPartition(conn, TOPIC, 0)
        const kept = tail.header.baseOffset
        expect(kept, 'the four batches before the tail hold records').toBeGreaterThan(0)
        expect(drained.map((d) => d.value)).toEqual(produced.acked.filter((a) => a.offset < kept).map((a) => a.value))
      } finally {
        conn.close()
      }
      expect(epochs, 'the four whole batches before the damaged one, all epoch 0').toEqual([0, 0, 0, 0])
    } finally {
      await fx.dispose()
    }
  })
})
