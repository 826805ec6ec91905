import { SamsaError, createTopic, encodeErrorFrame, encodeResponseFrame, ping, readFrameHeader } from '@samsa/shared'
import { describe, expect, it } from 'vitest'
import { silentLogger } from '../ports.js'
import { ManualClock } from '../testing/manual-clock.js'
import { RequestTable, pendingRequest } from './request-table.js'

/** A request whose outcome is recorded: 'pending' until it settles. */
function tracked<Req, Res>(exchange: Parameters<typeof pendingRequest<Req, Res>>[0], request: Req, late?: (r: Res) => void) {
  const outcome: { value: 'pending' | { ok: Res } | { error: Error } } = { value: 'pending' }
  const pending = pendingRequest(exchange, request, {
    resolve: (ok) => (outcome.value = { ok }),
    reject: (error) => (outcome.value = { error }),
    onLate: late,
  })
  return { pending, outcome }
}

describe('RequestTable (no socket: frames go to an array)', () => {
  const setup = () => {
    const clock = new ManualClock()
    const table = new RequestTable(clock, silentLogger)
    const sent: Uint8Array[] = []
    const timeouts: { name: string; written: boolean; timeoutMs: number }[] = []
    const send = (frame: Uint8Array) => void sent.push(frame)
    const arm = (p: ReturnType<typeof pendingRequest>, ms: number) => table.arm(p, ms, (q, written, timeoutMs) => timeouts.push({ name: q.exchange.name, written, timeoutMs }))
    return { clock, table, sent, send, timeouts, arm }
  }
  const idOf = (frame: Uint8Array) => readFrameHeader(frame).correlationId

  it('matches each response to its request by correlation id, in any order', () => {
    const { table, sent, send, arm } = setup()
    const a = tracked(createTopic, { name: 'a', partitions: 1 })
    const b = tracked(createTopic, { name: 'b', partitions: 2 })
    for (const r of [a, b]) {
      arm(r.pending, 1000)
      table.write(r.pending, 1, send)
    }
    const [fa, fb] = sent.map(idOf)
    expect(fa).not.toBe(0)
    expect(fb).not.toBe(fa)
    const answer = (id: number, res: { name: string; partitions: number }) => {
      const frame = encodeResponseFrame(createTopic, 1, id, res)
      table.answer(readFrameHeader(frame), frame)
    }
    answer(fb!, { name: 'b', partitions: 2 })
    answer(fa!, { name: 'a', partitions: 1 })
    expect(a.outcome.value).toEqual({ ok: { name: 'a', partitions: 1 } })
    expect(b.outcome.value).toEqual({ ok: { name: 'b', partitions: 2 } })
  })

  it('an error frame rejects with the broker error; a response with another apiKey rejects with UNKNOWN_SERVER_ERROR', () => {
    const { table, sent, send, arm } = setup()
    const a = tracked(createTopic, { name: 'a', partitions: 1 })
    const b = tracked(createTopic, { name: 'b', partitions: 1 })
    for (const r of [a, b]) {
      arm(r.pending, 1000)
      table.write(r.pending, 1, send)
    }
    const err = encodeErrorFrame(createTopic.apiKey, 1, idOf(sent[0]!), new SamsaError('TOPIC_ALREADY_EXISTS', 'exists'))
    table.answer(readFrameHeader(err), err)
    expect(a.outcome.value).toMatchObject({ error: { errorName: 'TOPIC_ALREADY_EXISTS' } })
    const wrong = encodeResponseFrame(ping, 1, idOf(sent[1]!), {})
    table.answer(readFrameHeader(wrong), wrong)
    expect(b.outcome.value).toMatchObject({ error: { errorName: 'UNKNOWN_SERVER_ERROR' } })
  })

  it('an undecodable response rejects its request with CORRUPT_MESSAGE and throws (the connection closes the socket)', () => {
    const { table, sent, send, arm } = setup()
    const a = tracked(createTopic, { name: 'a', partitions: 1 })
    arm(a.pending, 1000)
    table.write(a.pending, 1, send)
    const good = encodeResponseFrame(createTopic, 1, idOf(sent[0]!), { name: 'a', partitions: 1 })
    const cut = good.subarray(0, good.length - 2)
    expect(() => table.answer(readFrameHeader(cut), cut)).toThrow()
    expect(a.outcome.value).toMatchObject({ error: { errorName: 'CORRUPT_MESSAGE' } })
  })

  it('times out with REQUEST_TIMED_OUT, saying whether it was written; a late answer goes to onLateResponse only', () => {
    const { clock, table, sent, send, timeouts, arm } = setup()
    const lateAnswers: unknown[] = []
    const written = tracked(createTopic, { name: 'w', partitions: 1 }, (r) => lateAnswers.push(r))
    const queued = tracked(ping, {})
    arm(written.pending, 100)
    table.write(written.pending, 1, send)
    arm(queued.pending, 100)
    table.enqueue(queued.pending)
    clock.advance(100)
    expect(written.outcome.value).toMatchObject({ error: { errorName: 'REQUEST_TIMED_OUT' } })
    expect(queued.outcome.value).toMatchObject({ error: { errorName: 'REQUEST_TIMED_OUT' } })
    expect(timeouts).toEqual([
      { name: 'createTopic', written: true, timeoutMs: 100 },
      { name: 'ping', written: false, timeoutMs: 100 },
    ])
    expect(table.takeQueued()).toEqual([]) // a timed-out request is never written later
    const frame = encodeResponseFrame(createTopic, 1, idOf(sent[0]!), { name: 'w', partitions: 1 })
    table.answer(readFrameHeader(frame), frame)
    table.answer(readFrameHeader(frame), frame) // at most once
    expect(lateAnswers).toEqual([{ name: 'w', partitions: 1 }])
  })

  it('failInFlight fails what was written and forgets late answers; failAll also fails what is queued; timers are cleared', () => {
    const { clock, table, sent, send, arm } = setup()
    const lateAnswers: unknown[] = []
    const timedOut = tracked(createTopic, { name: 't', partitions: 1 }, (r) => lateAnswers.push(r))
    arm(timedOut.pending, 10)
    table.write(timedOut.pending, 1, send)
    clock.advance(10)
    const written = tracked(ping, {})
    arm(written.pending, 1000)
    table.write(written.pending, 1, send)
    table.failInFlight(new SamsaError('NETWORK_EXCEPTION', 'lost'))
    expect(written.outcome.value).toMatchObject({ error: { errorName: 'NETWORK_EXCEPTION' } })
    const frame = encodeResponseFrame(createTopic, 1, idOf(sent[0]!), { name: 't', partitions: 1 })
    table.answer(readFrameHeader(frame), frame)
    expect(lateAnswers).toEqual([])
    const queued = tracked(ping, {})
    arm(queued.pending, 1000)
    table.enqueue(queued.pending)
    table.failAll(new SamsaError('NETWORK_EXCEPTION', 'closed'))
    expect(queued.outcome.value).toMatchObject({ error: { message: 'closed' } })
    expect(clock.pendingTimers).toBe(0)
  })

  it('a request that cannot be encoded is rejected with the encoder error and nothing is sent', () => {
    const { table, sent, send, arm } = setup()
    const bad = tracked(createTopic, { name: 'x'.repeat(70_000), partitions: 1 })
    arm(bad.pending, 1000)
    table.write(bad.pending, 1, send)
    expect(sent).toEqual([])
    expect(bad.outcome.value).toMatchObject({ error: expect.any(Error) })
  })
})
