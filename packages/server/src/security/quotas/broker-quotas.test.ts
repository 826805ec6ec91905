import { describe, expect, it } from 'vitest'
import { ManualClock } from '../../log/testing/manual-clock.js'
import { ANONYMOUS } from '../principal.js'
import { noopMetrics } from '../../observability/broker-metrics.js'
import { BrokerQuotas, quotaPrincipal, type QuotaConfig } from './broker-quotas.js'

const OFF: QuotaConfig = {
  maxConnectionsPerIp: 1000,
  maxConnectionsPerPrincipal: 1000,
  produceBytesPerSecondPerPrincipal: 0,
  produceBytesPerSecondPerIp: 0,
  fetchBytesPerSecondPerPrincipal: 0,
  fetchBytesPerSecondPerIp: 0,
  requestsPerSecondPerConnection: 0,
  requestsPerSecondPerPrincipal: 0,
  topicCreationsPerMinutePerPrincipal: 0,
  quotaMaxThrottleMs: 30_000,
}

describe('quotaPrincipal', () => {
  it('keys users by name, anonymous connections by address, and exempts peers', () => {
    expect(quotaPrincipal({ kind: 'user', name: 'alice', claims: {} }, '10.0.0.1')).toBe('user:alice')
    expect(quotaPrincipal(ANONYMOUS, '10.0.0.1')).toBe('anonymous@10.0.0.1')
    expect(quotaPrincipal({ kind: 'peer', name: 'node:2', claims: {} }, '10.0.0.2')).toBeNull()
  })
})

describe('BrokerQuotas', () => {
  it('a rate of 0 never throttles', () => {
    const q = new BrokerQuotas(OFF, new ManualClock(), noopMetrics)
    expect(q.produced('user:a', '1.1.1.1', 1e12).ms).toBe(0)
    expect(q.delivered('user:a', '1.1.1.1', 1e12).ms).toBe(0)
    expect(q.request('user:a').ms).toBe(0)
    expect(q.takeTopicCreation('user:a')).toBe(0)
  })

  it('throttles produce by the longer of the principal and the address throttle', () => {
    const clock = new ManualClock()
    const q = new BrokerQuotas({ ...OFF, produceBytesPerSecondPerPrincipal: 1000, produceBytesPerSecondPerIp: 4000 }, clock, noopMetrics)
    expect(q.produced('user:a', 'ip1', 2000)).toEqual({ ms: 1000, quota: 'produce_bytes' })
    // Another principal on the same address: only the address's bucket (4,000 − 2,000 left) is shared.
    expect(q.produced('user:b', 'ip1', 1000).ms).toBe(0)
    // 1,500 more: the address is 500 in debt (125 ms at 4,000/s), user:c 500 (500 ms at 1,000/s): the longer decides.
    expect(q.produced('user:c', 'ip1', 1500).ms).toBe(500)
    expect(q.produced('user:d', 'ip1', 10).ms).toBe(128)
  })

  it('counts delivered bytes separately from produced ones', () => {
    const q = new BrokerQuotas({ ...OFF, fetchBytesPerSecondPerIp: 100 }, new ManualClock(), noopMetrics)
    expect(q.produced('user:a', 'ip1', 10_000).ms).toBe(0)
    expect(q.delivered('user:a', 'ip1', 200)).toEqual({ ms: 1000, quota: 'fetch_bytes' })
  })

  it('allows topicCreationsPerMinutePerPrincipal creations at once, then one more as each 60/n s pass', () => {
    const clock = new ManualClock()
    const q = new BrokerQuotas({ ...OFF, topicCreationsPerMinutePerPrincipal: 3 }, clock, noopMetrics)
    expect([q.takeTopicCreation('user:a'), q.takeTopicCreation('user:a'), q.takeTopicCreation('user:a')]).toEqual([0, 0, 0])
    expect(q.takeTopicCreation('user:a')).toBe(20_000)
    expect(q.takeTopicCreation('user:b')).toBe(0)
    clock.advance(19_999)
    expect(q.takeTopicCreation('user:a')).toBe(1)
    clock.advance(1)
    expect(q.takeTopicCreation('user:a')).toBe(0)
  })

  it('counts connections per address and per principal within their maxima', () => {
    const q = new BrokerQuotas({ ...OFF, maxConnectionsPerIp: 2, maxConnectionsPerPrincipal: 1 }, new ManualClock(), noopMetrics)
    expect([q.openFromIp('ip1'), q.openFromIp('ip1'), q.openFromIp('ip1'), q.openFromIp('ip2')]).toEqual([true, true, false, true])
    q.closedFromIp('ip1')
    expect(q.openFromIp('ip1')).toBe(true)
    expect(q.openFromIp(undefined)).toBe(true)
    expect([q.openForPrincipal('user:a'), q.openForPrincipal('user:a')]).toEqual([true, false])
    q.closedForPrincipal('user:a')
    expect(q.openForPrincipal('user:a')).toBe(true)
  })
})
