/**
 * The broker events that end subscriptions (a deleted topic here; resignations and grant changes take the same path)
 * reach every connection's table through one listener per broker: the listeners a broker holds do not grow with the
 * connections or their subscriptions, and a closed connection is no longer reached.
 */
import { ApiKeys, decodePush, exchanges, readFrameHeader, type Push } from '@samsa/shared'
import { describe, expect, it, vi } from 'vitest'
import { sessionHarness, type RecordingSocket } from './testing/session-harness.js'

const pushesOf = (socket: RecordingSocket): Push[] => socket.sent.filter((f) => readFrameHeader(f).apiKey === ApiKeys.PUSH).map((f) => decodePush(f))

describe('SubscriptionTable and broker events', () => {
  it('a deleted topic ends the subscriptions of every open connection on it (TOPIC_DELETED), and reaches no closed one', async () => {
    const h = await sessionHarness()
    const onDeleted = vi.spyOn(h.broker, 'onTopicDeleted')
    const onResigned = vi.spyOn(h.broker, 'onResigned')
    const onGrants = vi.spyOn(h.broker.access, 'onGrantsChanged')
    const conns = Array.from({ length: 4 }, () => h.open())
    await conns[0]!.request(exchanges.createTopic, { name: 't', partitions: 1 })
    await conns[0]!.request(exchanges.createTopic, { name: 'other', partitions: 1 })
    for (const c of conns) {
      await c.request(exchanges.subscribe, { topic: 't', partition: 0, offset: -1, creditBytes: 1 << 16 })
      await c.request(exchanges.subscribe, { topic: 'other', partition: 0, offset: -1, creditBytes: 1 << 16 })
    }
    // One listener per event for the whole broker, however many connections subscribe.
    expect([onDeleted.mock.calls.length, onResigned.mock.calls.length, onGrants.mock.calls.length]).toEqual([1, 1, 1])

    const [closed, ...open] = conns
    closed!.session.onClosed()
    const sentByClosed = closed!.socket.sent.length
    await h.broker.deleteTopic('t')

    for (const c of open) {
      expect(pushesOf(c.socket)).toEqual([{ kind: 'ended', subscriptionId: 1, error: expect.objectContaining({ errorName: 'TOPIC_DELETED' }) }])
      expect(c.session.subscriptions.size).toBe(1) // the subscription to 'other' stays
    }
    expect(closed!.socket.sent.length).toBe(sentByClosed)
    expect(closed!.session.subscriptions.size).toBe(0)
  })
})
