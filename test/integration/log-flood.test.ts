/**
 * Client-caused problems cannot flood the broker's log: 20,000 bad acks=0 produces (no response to carry the
 * error) give a handful of short lines without stacks, and every one of them is counted in /metrics.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeRecordBatch, encodeRequestFrame, exchanges } from '../../packages/shared/src/index.js'
import { startBrokerFixture, type BrokerFixture } from '../support/broker-fixture.js'
import { RawConnection } from '../support/raw-connection.js'
import { until } from '../support/until.js'

const BAD_FRAMES = 20_000

let fx: BrokerFixture

beforeAll(async () => {
  fx = await startBrokerFixture()
})

afterAll(async () => {
  await fx?.dispose()
})

async function errorCount(api: string, error: string): Promise<number> {
  const text = await (await fetch(`${fx.running.httpUrl}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith('samsa_request_errors_total{') && l.includes(`api="${api}"`) && l.includes(`error="${error}"`))
  return line ? Number(line.split(' ').at(-1)) : 0
}

describe('bad acks=0 produces', () => {
  it('are logged without stacks, rate-limited per connection, and all counted in /metrics', async () => {
    const c = await RawConnection.open(fx.running.url)
    expect((await c.request(exchanges.createTopic, { name: 'flood', partitions: 1 })).ok).toBe(true)
    const batch = encodeRecordBatch({ records: [{ key: null, value: new TextEncoder().encode('v'), headers: [], timestamp: 1_700_000_000_000 }] })
    const corrupt = batch.slice()
    corrupt[corrupt.length - 1]! ^= 0xff
    const linesBefore = fx.logs.length
    for (let i = 0; i < BAD_FRAMES; i++) {
      // Half to a partition that does not exist, half with a broken CRC: both fail only after the request is decoded.
      const req = i % 2 === 0 ? { topic: 'flood', partition: 7, acks: 0, timeoutMs: 1000, batch } : { topic: 'flood', partition: 0, acks: 0, timeoutMs: 1000, batch: corrupt }
      c.ws.send(encodeRequestFrame(exchanges.produce, c.version, c.nextCorrelationId(), req))
    }
    expect((await c.request(exchanges.ping, {})).ok).toBe(true)
    await until(async () => (await errorCount('PRODUCE', 'UNKNOWN_TOPIC_OR_PARTITION')) === BAD_FRAMES / 2 && (await errorCount('PRODUCE', 'CORRUPT_MESSAGE')) === BAD_FRAMES / 2, {
      what: `/metrics to count ${BAD_FRAMES} failed acks=0 produces`,
    })
    const lines = fx.logs.slice(linesBefore)
    expect(lines.length).toBeLessThanOrEqual(20)
    const text = JSON.stringify(lines)
    expect(text.length).toBeLessThan(10_000)
    expect(text).not.toMatch(/\bat .*\.ts:\d+|stack/)
    expect(lines.some((l) => l.msg === 'acks=0 produce failed')).toBe(true)
    c.close()
  })
})
