/**
 * The acceptance test for durability: what `samsa produce --acks all --json` printed is on disk, whatever happens
 * to the broker afterwards. A broker child process gets 100 000 lines through `samsa produce`; once at least
 * 30 000 offsets have been printed it is killed with SIGKILL (no shutdown, no flush), the producer too; a new
 * broker on the same data directory must hold every printed record exactly once at exactly its printed place,
 * with contiguous offsets, per-partition input order, and nothing that was never sent (history checker).
 * Runs the BUILT CLI: `npm run build` first.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createClient, type RecordMetadata } from '@samsa/client-browser'
import { checkHistory, describeReport, type Ack, type Read } from '../support/history-checker.js'
import { killAll, runCli, spawnCli, startChildBroker, type ChildBroker } from '../support/child-broker.js'
import { RawConnection } from '../support/raw-connection.js'
import { drainPartition } from '../support/raw-log.js'
import { until } from '../support/until.js'

const TOTAL = 100_000
const KILL_AFTER = 30_000
const PARTITIONS = 3
const value = (i: number) => `r-${String(i + 1).padStart(6, '0')}`

const dirs: string[] = []

afterAll(async () => {
  await killAll()
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

/** Reads every record of the topic through the SDK (a second, independent reader next to the CLI). */
async function drainWithSdk(url: string, topic: string, expected: number, timeoutMs: number): Promise<Read[]> {
  const client = createClient({ brokers: [url], clientId: 'kill-9-drain', WebSocket: WebSocket as never })
  const out: Read[] = []
  try {
    const ends = await client.admin.describeTopic(topic)
    const total = ends.partitions.reduce((n, p) => n + p.highWatermark - p.logStartOffset, 0)
    expect(total).toBe(expected)
    const sub = client.consumer().subscribe(topic, { from: 'earliest' })
    const deadline = setTimeout(() => sub.close(), timeoutMs)
    try {
      for await (const r of sub) {
        out.push({ partition: r.partition, offset: r.offset, value: r.text() })
        if (out.length >= total) break
      }
    } finally {
      clearTimeout(deadline)
      sub.close()
    }
  } finally {
    await client.close()
  }
  return out
}

describe('kill -9 during `samsa produce --acks all`', () => {
  it('loses no printed (acknowledged) record, duplicates none and keeps per-partition order', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'samsa-kill9-'))
    dirs.push(dataDir)
    let broker: ChildBroker | null = await startChildBroker(dataDir)
    let producer: ReturnType<typeof spawnCli> | null = null
    try {
      const created = await runCli(['topics', 'create', 't', '--partitions', String(PARTITIONS), '--broker', broker.url])
      expect(created.code, created.stderr).toBe(0)

      producer = spawnCli(['produce', 't', '--acks', 'all', '--json', '--broker', broker.url])
      const stdout = producer.proc.stdout!
      const producerStdoutClosed = new Promise<void>((r) => stdout.once('close', r))
      const printed: { partition: number; offset: number }[] = []
      let rest = ''
      let badLine: string | null = null
      stdout.on('data', (chunk: Buffer) => {
        const parts = (rest + chunk.toString('utf8')).split('\n')
        rest = parts.pop()!
        for (const line of parts) {
          try {
            const m = JSON.parse(line) as { partition: number; offset: number }
            printed.push({ partition: m.partition, offset: m.offset })
          } catch {
            badLine ??= line
          }
        }
      })
      let producerStderr = ''
      producer.proc.stderr!.on('data', (c: Buffer) => (producerStderr += c.toString('utf8')))
      producer.proc.stdin!.on('error', () => {}) // EPIPE once it is killed
      // Feed stdin with backpressure, without waiting for it to finish. The producer is fast enough to finish
      // 100,000 lines before the test could react, so the rest of the input waits for the kill: it is mid-stream.
      const stdin = producer.proc.stdin!
      let killed: () => void = () => {}
      const killedNow = new Promise<void>((r) => (killed = r))
      const feeding = (async () => {
        const CHUNK = 2_000
        for (let i = 0; i < TOTAL; i += CHUNK) {
          if (i === KILL_AFTER + 10 * CHUNK) await killedNow
          let s = ''
          for (let j = i; j < Math.min(TOTAL, i + CHUNK); j++) s += `${value(j)}\n`
          if (stdin.destroyed || !stdin.writable) return
          if (!stdin.write(s)) await new Promise<void>((r) => { stdin.once('drain', r); stdin.once('close', r) })
        }
        stdin.end()
      })()

      let producerExit: unknown = null
      void producer.exited.then((e) => (producerExit = e))
      await until(() => printed.length >= KILL_AFTER || producerExit, { timeoutMs: 120_000, what: `${KILL_AFTER} offsets printed by samsa produce` })
      expect(producerExit, `samsa produce exited before ${KILL_AFTER} offsets: ${producerStderr}`).toBeNull()
      const printedAtKill = printed.length
      broker.kill('SIGKILL')
      killed()
      const brokerExit = await broker.exited
      expect(brokerExit.signal).toBe('SIGKILL')
      broker = null
      // The producer is killed as soon as the broker is gone; no wait and no timeout decides what counts as acknowledged.
      // Every line it wrote before dying is read (its stdout is read to the end); a send it had no printed line for
      // is an 'unknown' outcome: attempted, not acknowledged, allowed in the log at most once (the history checker's rule).
      producer.proc.kill('SIGKILL')
      await producer.exited
      await producerStdoutClosed
      await feeding
      producer = null
      expect(badLine, 'every stdout line of samsa produce --json is {"partition","offset"}').toBeNull()
      const ackedBeforeKill = printed.length
      expect(ackedBeforeKill).toBeLessThan(TOTAL) // the kill really happened mid-stream

      // Restart on the same data directory and drain with the CLI.
      broker = await startChildBroker(dataDir)
      const consumed = await runCli(['consume', 't', '--from', 'earliest', '--json', '--timeout-ms', '3000', '--broker', broker.url], { timeoutMs: 120_000 })
      expect(consumed.timedOut, 'samsa consume --timeout-ms 3000 must end by itself').toBe(false)
      expect(consumed.code, consumed.stderr).toBe(0)
      const drained: Read[] = consumed.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const r = JSON.parse(l) as { partition: number; offset: number; value: string }
          return { partition: r.partition, offset: r.offset, value: r.value }
        })

      const acked: Ack[] = printed.map((p, i) => ({ partition: p.partition, offset: p.offset, value: value(i) }))
      const attempted = Array.from({ length: TOTAL }, (_, i) => value(i))
      const report = checkHistory({ attempted, acked, drained })
      const summary = `kill -9 recovery: ${printedAtKill} offsets printed when the broker was killed, ${ackedBeforeKill} acknowledged in all; after restart ${drained.length} records found (${report.counts.ackedFound} of the acknowledged at their printed place, ${report.counts.unackedPresent} unacknowledged but durable), per partition ${JSON.stringify(report.counts.perPartition)}`
      console.log(summary)
      expect(report.ok, `${summary}\n${describeReport(report)}`).toBe(true)
      expect(report.counts.ackedFound).toBe(ackedBeforeKill)
      // The recovered broker reports the same end offsets as what is readable.
      const described = await runCli(['topics', 'describe', 't', '--json', '--broker', broker.url])
      expect(described.code, described.stderr).toBe(0)
      const d = JSON.parse(described.stdout) as { partitions: { partition: number; logEndOffset: number; highWatermark: number }[] }
      expect(d.partitions.map((p) => p.partition).sort()).toEqual(Array.from({ length: PARTITIONS }, (_, i) => i))
      for (const p of d.partitions) {
        expect(p.highWatermark).toBe(report.counts.perPartition[p.partition] ?? 0)
        expect(p.logEndOffset).toBe(p.highWatermark)
      }

      // A second reader, the SDK, sees exactly the same log.
      const viaSdk = await drainWithSdk(broker.url, 't', drained.length, 60_000)
      const key = (r: Read) => `${r.partition}:${r.offset}:${r.value}`
      expect(viaSdk.map(key).sort()).toEqual(drained.map(key).sort())
    } finally {
      producer?.proc.kill('SIGKILL')
      if (producer) await producer.exited
      if (broker) await broker.stop()
    }
  }, 300_000)

  it('with the SDK producer: every send resolves after the broker comes back, and batches resent across the crash are not appended twice', async () => {
    const N = 30_000
    const PER_SEND = 100
    const KILL_AT = 10_000
    const dataDir = await mkdtemp(join(tmpdir(), 'samsa-kill9-sdk-'))
    dirs.push(dataDir)
    let broker: ChildBroker | null = await startChildBroker(dataDir)
    const port = broker.port
    const client = createClient({ brokers: [broker.url], clientId: 'kill-9-sdk', WebSocket: WebSocket as never, reconnectBackoff: { baseMs: 50, capMs: 500 } })
    try {
      await client.admin.createTopic('s', { partitions: PARTITIONS })
      const producer = client.producer({ acks: 'all', lingerMs: 2 })
      const v = (i: number) => `s-${String(i).padStart(6, '0')}`
      const sends: Promise<RecordMetadata[]>[] = []
      let resolved = 0
      let killedAt: number | null = null
      for (let i = 0; i < N; i += PER_SEND) {
        const p = producer.send('s', Array.from({ length: PER_SEND }, (_, j) => ({ value: v(i + j) })))
        p.then(() => resolved++, () => {})
        sends.push(p)
        if (sends.length - resolved > 30) await until(() => sends.length - resolved <= 30, { timeoutMs: 60_000, what: 'the producer to make progress' })
        if (killedAt === null && resolved * PER_SEND >= KILL_AT) {
          killedAt = resolved * PER_SEND
          broker.kill('SIGKILL')
          await broker.exited
          broker = await startChildBroker(dataDir, [], { port })
        }
      }
      const outcomes = await Promise.race([Promise.allSettled(sends), new Promise<null>((r) => setTimeout(() => r(null), 120_000).unref())])
      expect(outcomes, 'every send settles within 120 s of the restart').not.toBeNull()
      expect(outcomes!.flatMap((o, i) => (o.status === 'rejected' ? [`send ${i}: ${String(o.reason)}`] : []))).toEqual([])
      const acked: Ack[] = outcomes!.flatMap((o, i) => (o as PromiseFulfilledResult<RecordMetadata[]>).value.map((m, j) => ({ partition: m.partition, offset: m.offset, value: v(i * PER_SEND + j) })))
      const conn = await RawConnection.open(broker.url)
      const drained: Read[] = []
      try {
        for (let p = 0; p < PARTITIONS; p++) drained.push(...(await drainPartition(conn, 's', p)))
      } finally {
        conn.close()
      }
      const report = checkHistory({ attempted: Array.from({ length: N }, (_, i) => v(i)), acked, drained })
      console.log(`kill -9 under the SDK producer: killed after ${killedAt} acknowledged records; ${acked.length} acknowledged in all, ${drained.length} in the log`)
      expect(report.ok, describeReport(report)).toBe(true)
      expect(drained).toHaveLength(N)
    } finally {
      await Promise.race([client.close().catch(() => {}), new Promise((r) => setTimeout(r, 5_000).unref())])
      if (broker) await broker.stop()
    }
  }, 300_000)
})
