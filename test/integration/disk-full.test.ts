/**
 * A real full disk (reliability.md §2.5): the broker's data directory lives on a 2 MiB tmpfs. Produces with
 * acks all run until one fails with a retriable KAFKA_STORAGE_ERROR; no partial batch is left on disk; reads
 * keep working; a restart reports no recovery cut and has every acknowledged record; once space is freed the
 * very batch that failed (same producer id and sequence) is accepted at the next offset and offsets continue.
 * Needs root to mount the tmpfs (CI runs as root).
 */
import { execFileSync } from 'node:child_process'
import { mkdtemp, rm, rmdir, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { encodeRecordBatch, exchanges, type SamsaError } from '../../packages/shared/src/index.js'
import { startBrokerFixture, type BrokerFixture } from '../support/broker-fixture.js'
import { checkHistory, describeReport, type Ack } from '../support/history-checker.js'
import { RawConnection } from '../support/raw-connection.js'
import { batchesIn, drainPartition, segmentFiles, value } from '../support/raw-log.js'

const TOPIC = 'full'
const RECORDS_PER_BATCH = 40
const VALUE_PAD = 'x'.repeat(200)
const MAX_BATCHES = 2_000 // 2 MiB / ~9 KiB per batch is ~230: bounded well above that
const te = new TextEncoder()
const td = new TextDecoder()

let mountDir = ''
let mounted = false
let fx: BrokerFixture | null = null

beforeEach(async () => {
  mounted = false
  mountDir = await mkdtemp(join(tmpdir(), 'samsa-full-'))
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mountDir], { stdio: 'pipe', timeout: 10_000 })
    mounted = true
  } catch (e) {
    const why = (e as { stderr?: Buffer }).stderr?.toString().trim() || (e as Error).message
    throw new Error(
      `disk-full.test.ts needs root to mount a tmpfs (mount -t tmpfs -o size=2m tmpfs ${mountDir}) and could not: ${why}. ` +
        `Run it as root (CI runs as root) — it is not skipped, because a full disk cannot be simulated honestly without one.`,
    )
  }
})

afterEach(async () => {
  await fx?.stop().catch(() => {})
  fx = null
  if (mounted) execFileSync('umount', [mountDir], { stdio: 'pipe', timeout: 10_000 })
  if (mountDir) await rmdir(mountDir).catch(() => rm(mountDir, { recursive: true, force: true }))
})

interface Sender {
  producerId: number
  producerEpoch: number
  sequence: number
  counter: number
}

function nextBatch(s: Sender): { bytes: Uint8Array; values: string[] } {
  const values = Array.from({ length: RECORDS_PER_BATCH }, () => value('f', s.counter++))
  const bytes = encodeRecordBatch({
    producerId: s.producerId,
    producerEpoch: s.producerEpoch,
    baseSequence: s.sequence,
    records: values.map((v, i) => ({ key: null, value: te.encode(`${v}|${VALUE_PAD}`), headers: [], timestamp: 1_700_000_000_000 + i })),
  })
  s.sequence += RECORDS_PER_BATCH
  return { bytes, values }
}

const valueOf = (stored: string) => stored.split('|')[0]!

describe('disk full on a real tmpfs', () => {
  it.each([
    ['one large segment', {}],
    ['64 KiB segments (rolls and index writes also hit the full disk)', { log: { segmentBytes: 64 * 1024 } }],
  ])('fails a produce with a retriable KAFKA_STORAGE_ERROR, leaves no partial batch, loses no ack, and resumes once space is freed (%s)', async (_name, config) => {
    // A filler file to delete later, so that freeing space needs no broker cooperation.
    const filler = join(mountDir, 'filler.bin')
    await writeFile(filler, new Uint8Array(256 * 1024))
    const dataDir = join(mountDir, 'data')
    fx = await startBrokerFixture(config, dataDir)
    let conn = await RawConnection.open(fx.running.url)
    const created = await conn.request(exchanges.createTopic, { name: TOPIC, partitions: 1 })
    expect(created.ok).toBe(true)
    const init = await conn.request(exchanges.initProducerId, { producerId: -1, producerEpoch: -1 })
    if (!init.ok) throw init.error
    const sender: Sender = { producerId: init.value.producerId, producerEpoch: init.value.producerEpoch, sequence: 0, counter: 0 }

    const acked: Ack[] = []
    const attempted: string[] = []
    let failure: SamsaError | null = null
    let failedBatch: { bytes: Uint8Array; values: string[] } | null = null
    for (let i = 0; i < MAX_BATCHES && failure === null; i++) {
      const b = nextBatch(sender)
      attempted.push(...b.values)
      const r = await conn.request(exchanges.produce, { topic: TOPIC, partition: 0, acks: -1, timeoutMs: 10_000, batch: b.bytes.slice() })
      if (r.ok) b.values.forEach((v, j) => acked.push({ partition: 0, offset: r.value.baseOffset + j, value: v }))
      else {
        failure = r.error
        failedBatch = b
      }
    }
    const ackedEnd = acked.length
    console.log(`disk-full (${_name}): ${acked.length} records acknowledged (${acked.length / RECORDS_PER_BATCH} batches) before ${failure?.errorName}: ${failure?.message}`)
    expect(failure, `no produce failed within ${MAX_BATCHES} batches on a 2 MiB tmpfs`).not.toBeNull()
    expect(failure!.errorName).toBe('KAFKA_STORAGE_ERROR')
    expect(failure!.retriable).toBe(true)
    expect(acked.length).toBeGreaterThan(0)

    // No partial batch: every segment holds whole batches only, byte for byte to its end, ending at the last ack.
    const files = await segmentFiles(dataDir, TOPIC, 0)
    let end = 0
    for (const f of files) {
      const batches = await batchesIn(f)
      const fileSize = (await stat(f)).size
      const lastBatch = batches.at(-1)
      expect(lastBatch ? lastBatch.position + lastBatch.totalBytes : 0, `${f} ends at the end of its last whole batch`).toBe(fileSize)
      if (lastBatch) {
        expect(batches[0]!.header.baseOffset).toBe(end)
        end = lastBatch.header.baseOffset + lastBatch.header.lastOffsetDelta + 1
      }
    }
    expect(end).toBe(ackedEnd)
    const file = files.at(-1)!
    const size = (await stat(file)).size

    // Still full: another attempt fails the same way and still appends nothing; reads keep working.
    const again = await conn.request(exchanges.produce, { topic: TOPIC, partition: 0, acks: -1, timeoutMs: 10_000, batch: failedBatch!.bytes.slice() })
    expect(!again.ok && again.error.errorName).toBe('KAFKA_STORAGE_ERROR')
    expect((await stat(file)).size).toBe(size)
    const whileFull = await drainPartition(conn, TOPIC, 0)
    expect(whileFull.length).toBe(ackedEnd)
    conn.close()

    // Restart on the full disk: no recovery cut, the log end is the last acknowledged end, every ack is readable.
    const logsBefore = fx.logs.length
    await fx.restart()
    const cuts = fx.logs.slice(logsBefore).filter((l) => l.level === 'warn' && 'truncatedBytes' in l.fields)
    expect(cuts, 'no recovery cut after a disk-full episode').toEqual([])
    expect(fx.running.broker.partition(TOPIC, 0).logEndOffset).toBe(ackedEnd)
    conn = await RawConnection.open(fx.running.url)
    const meta = await conn.request(exchanges.metadata, { topics: [TOPIC] })
    expect(meta.ok && meta.value.topics[0]!.partitions[0]).toMatchObject({ highWatermark: ackedEnd, logEndOffset: ackedEnd })
    const afterRestart = (await drainPartition(conn, TOPIC, 0)).map((r) => ({ ...r, value: valueOf(r.value) }))
    const report = checkHistory({ attempted, acked, drained: afterRestart })
    expect(report.ok, describeReport(report)).toBe(true)
    expect(afterRestart.length).toBe(ackedEnd)

    // Free space; the batch that failed is resent with its original sequence (the producer fenced nothing) and lands next.
    await rm(filler)
    const resent = await conn.request(exchanges.produce, { topic: TOPIC, partition: 0, acks: -1, timeoutMs: 10_000, batch: failedBatch!.bytes.slice() })
    if (!resent.ok) throw new Error(`after freeing space the resend failed: ${resent.error.errorName}: ${resent.error.message}`)
    expect(resent.value).toMatchObject({ baseOffset: ackedEnd, duplicate: false })
    failedBatch!.values.forEach((v, j) => acked.push({ partition: 0, offset: ackedEnd + j, value: v }))
    for (let i = 0; i < 3; i++) {
      const b = nextBatch(sender)
      attempted.push(...b.values)
      const r = await conn.request(exchanges.produce, { topic: TOPIC, partition: 0, acks: -1, timeoutMs: 10_000, batch: b.bytes })
      if (!r.ok) throw r.error
      expect(r.value.baseOffset).toBe(acked.length)
      b.values.forEach((v, j) => acked.push({ partition: 0, offset: r.value.baseOffset + j, value: v }))
    }
    const final = (await drainPartition(conn, TOPIC, 0)).map((r) => ({ ...r, value: valueOf(r.value) }))
    const finalReport = checkHistory({ attempted, acked, drained: final })
    expect(finalReport.ok, describeReport(finalReport)).toBe(true)
    expect(final.map((r) => r.offset)).toEqual(Array.from({ length: acked.length }, (_, i) => i))
    expect(td.decode(te.encode(final.at(-1)!.value))).toBe(acked.at(-1)!.value)
    conn.close()
    await fx.stop()
  })
})
