/**
 * docs/protocol.md's framing rule against a real broker: a body that cannot be parsed is answered with
 * INVALID_REQUEST and the connection stays; only a frame shorter than its header closes it (1002).
 */
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ApiKeys, ByteWriter, CloseCodes, decodeResponseFrame, exchanges } from '../../packages/shared/src/index.js'
import { startBrokerFixture, type BrokerFixture } from '../support/broker-fixture.js'
import { RawConnection } from '../support/raw-connection.js'

const framing = (() => {
  const doc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8')
  const start = doc.indexOf('## Framing')
  return doc.slice(start, doc.indexOf('\n## ', start + 1)).replace(/\s+/g, ' ')
})()

let fx: BrokerFixture
beforeAll(async () => {
  fx = await startBrokerFixture()
})
afterAll(async () => {
  await fx?.dispose()
})

describe('docs/protocol.md framing rules hold on a real broker', () => {
  it('a body that cannot be parsed: INVALID_REQUEST, and the same connection keeps serving', async () => {
    expect(framing).toMatch(/body that cannot be parsed .* is answered with INVALID_REQUEST/)
    expect(framing).not.toMatch(/body cannot be parsed closes/)
    const conn = await RawConnection.open(fx.running.url)
    const truncatedFetch = new ByteWriter().u16(ApiKeys.FETCH).u16(conn.version).u32(conn.nextCorrelationId()).u32(0xffffffff).u8(7).finish()
    expect(decodeResponseFrame(await conn.sendRaw(truncatedFetch)).error?.errorName).toBe('INVALID_REQUEST')
    const trailing = new ByteWriter().u16(ApiKeys.PING).u16(conn.version).u32(conn.nextCorrelationId()).u8(1).u8(2).finish()
    expect(decodeResponseFrame(await conn.sendRaw(trailing)).error?.errorName).toBe('INVALID_REQUEST')
    expect((await conn.request(exchanges.ping, {})).ok).toBe(true)
    conn.close()
  })

  it('a frame shorter than its header: closed with 1002, as the doc says', async () => {
    expect(framing).toContain(`Only a frame too short for its 8-byte header closes the connection, with ${CloseCodes.PROTOCOL_ERROR}`)
    const conn = await RawConnection.open(fx.running.url)
    conn.ws.send(new Uint8Array([0, 5, 0]))
    expect((await conn.waitClosed()).code).toBe(CloseCodes.PROTOCOL_ERROR)
  })
})
