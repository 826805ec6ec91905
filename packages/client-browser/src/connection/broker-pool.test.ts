import { ping } from '@samsa/shared'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { silentLogger } from '../ports.js'
import { FakeBroker } from '../testing/fake-broker.js'
import { BrokerPool } from './broker-pool.js'

describe('BrokerPool routing', () => {
  const cleanup: (() => Promise<void> | void)[] = []
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn()
  })

  it('once a pooled connection to a broker exists, its requests stay on it even when the bootstrap connects to that broker (two sockets to one broker would reorder a partition’s requests)', async () => {
    const one = await FakeBroker.start({ brokerId: 1 })
    const two = await FakeBroker.start({ brokerId: 2 })
    cleanup.push(() => one.close(), () => two.close())
    const pool = new BrokerPool({ brokers: [one.url], clientId: 't', WebSocket, backoff: { baseMs: 5, capMs: 20 } }, silentLogger)
    cleanup.push(() => pool.close())
    pool.learn([{ brokerId: 1, url: one.url }, { brokerId: 2, url: two.url }])
    const pooled = pool.connectionFor(1) // the bootstrap has not said which broker it reached: a pooled connection
    expect(pooled).not.toBe(pool.bootstrap)
    await pool.bootstrap.request(ping, {})
    expect(pool.bootstrap.helloResponse?.brokerId).toBe(1)
    expect(pool.connectionFor(1)).toBe(pooled)
    // A broker with no pooled connection is served by the bootstrap when that is where the bootstrap is connected.
    const three = await FakeBroker.start({ brokerId: 3 })
    cleanup.push(() => three.close())
    const pool2 = new BrokerPool({ brokers: [three.url], clientId: 't', WebSocket, backoff: { baseMs: 5, capMs: 20 } }, silentLogger)
    cleanup.push(() => pool2.close())
    await pool2.bootstrap.request(ping, {})
    expect(pool2.connectionFor(3)).toBe(pool2.bootstrap)
  })

  it('metadataConnectionInTurn: the brokers in turn by id; one not connected yet is connected for later and passed over for the next connected one', async () => {
    const one = await FakeBroker.start({ brokerId: 1 })
    const two = await FakeBroker.start({ brokerId: 2 })
    const three = await FakeBroker.start({ brokerId: 3 })
    cleanup.push(() => one.close(), () => two.close(), () => three.close())
    const pool = new BrokerPool({ brokers: [one.url], clientId: 't', WebSocket, backoff: { baseMs: 5, capMs: 20 } }, silentLogger)
    cleanup.push(() => pool.close())
    await pool.bootstrap.request(ping, {})
    pool.learn([{ brokerId: 1, url: one.url }, { brokerId: 2, url: two.url }, { brokerId: 3, url: three.url }])
    expect(pool.metadataConnectionInTurn(0)).toBe(pool.bootstrap) // broker 1: the bootstrap's
    expect(pool.metadataConnectionInTurn(1)).toBe(pool.bootstrap) // broker 2 is not connected yet: broker 3 is not either, so broker 1
    const toTwo = pool.connectionFor(2)
    await toTwo.request(ping, {})
    expect(pool.metadataConnectionInTurn(1)).toBe(toTwo)
    expect(pool.metadataConnectionInTurn(2)).toBe(pool.bootstrap) // broker 3 not connected yet (now connecting): the next in turn, broker 1
  })
})
