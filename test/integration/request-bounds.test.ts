/**
 * One request cannot crash or freeze the broker (a child process, so its memory is its own): a metadata request
 * naming a 1,000-partition topic 100,000 times is answered once per distinct name, and a 2 MiB request of
 * 1,048,570 names is refused at once; the broker's RSS stays bounded and it answers a ping and /healthz right after.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ByteWriter, FRAME_HEADER_BYTES, MAX_METADATA_TOPICS, decodeResponseFrame, encodeRequestFrame, exchanges } from '../../packages/shared/src/index.js'
import { killAll, startChildBroker, type ChildBroker } from '../support/child-broker.js'
import { RawConnection } from '../support/raw-connection.js'

let broker: ChildBroker
let dataDir: string

async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024
}

/** A metadata request frame naming `name` `count` times. */
function metadataFrame(version: number, correlationId: number, name: string, count: number): Uint8Array {
  const w = new ByteWriter().u16(exchanges.metadata.apiKey).u16(version).u32(correlationId).i32(count)
  for (let i = 0; i < count; i++) w.string(name)
  return w.finish()
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'samsa-bounds-'))
  broker = await startChildBroker(dataDir)
})

afterAll(async () => {
  await broker?.stop()
  await killAll()
  if (dataDir) await rm(dataDir, { recursive: true, force: true })
})

describe('a single metadata request', () => {
  it('naming a 1,000-partition topic 100,000 times is refused at once; at the 1,000-name limit each distinct name is answered once', { timeout: 90_000 }, async () => {
    const c = await RawConnection.open(broker.url)
    // 1,000 partition directories with fsyncs: slow on a loaded machine, so a longer wait than request()'s.
    const created = await c.sendRaw(encodeRequestFrame(exchanges.createTopic, c.version, c.nextCorrelationId(), { name: 'm', partitions: 1000 }), 60_000)
    expect(decodeResponseFrame(created).error).toBeNull()
    const rssBefore = await rssBytes(broker.proc.pid!)
    const frame = metadataFrame(c.version, c.nextCorrelationId(), 'm', 100_000)
    expect(frame.length).toBeGreaterThan(290_000)
    const refused = await c.sendRaw(frame, 15_000)
    expect(refused.length).toBeLessThan(1000)
    expect(decodeResponseFrame(refused).error?.errorName).toBe('INVALID_REQUEST')

    // 1,000 times the same name: one entry (36 KB), not 1,000 × 1,000 partitions (36 MB).
    const reply = await c.sendRaw(metadataFrame(c.version, c.nextCorrelationId(), 'm', MAX_METADATA_TOPICS), 15_000)
    expect(reply.length).toBeLessThan(100_000)
    const r = decodeResponseFrame(reply)
    expect(r.error).toBeNull()
    const md = exchanges.metadata.decodeResponse(r.body!)
    expect(md.topics).toHaveLength(1)
    expect(md.topics[0]).toMatchObject({ name: 'm', errorCode: 0 })
    expect(md.topics[0]!.partitions).toHaveLength(1000)
    expect((await c.request(exchanges.ping, {})).ok).toBe(true)
    expect(await rssBytes(broker.proc.pid!)).toBeLessThan(rssBefore + 64 * 1024 * 1024)
    c.close()
  })

  it('of 1,048,570 missing names (2 MiB) is refused with INVALID_REQUEST, three times, and a ping on another connection is answered', { timeout: 60_000 }, async () => {
    const c = await RawConnection.open(broker.url)
    const other = await RawConnection.open(broker.url)
    const frames = [0, 1, 2].map(() => metadataFrame(c.version, c.nextCorrelationId(), '', 1_048_570))
    expect(frames[0]!.length).toBe(2 * 1024 * 1024)
    expect(frames[0]!.length - FRAME_HEADER_BYTES).toBe(4 + 2 * 1_048_570)
    const replies = frames.map((f) => c.sendRaw(f, 15_000))
    // Sent behind the three big frames: the broker answers it only once it is free again.
    const ping = await other.request(exchanges.ping, {})
    expect(ping.ok).toBe(true)
    for (const reply of await Promise.all(replies)) {
      const r = decodeResponseFrame(reply)
      expect(r.error?.errorName).toBe('INVALID_REQUEST')
      expect(r.error?.message).toMatch(/1048570 topics.*at most 1000/)
      expect(reply.length).toBeLessThan(1000)
    }
    const health = await fetch(`${broker.httpUrl}/healthz`, { signal: AbortSignal.timeout(5000) })
    expect(health.ok).toBe(true)
    c.close()
    other.close()
  })
})
