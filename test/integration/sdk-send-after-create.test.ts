/**
 * A send to a topic that does not exist fails with UNKNOWN_TOPIC_OR_PARTITION; once the topic is created (through the
 * same client), the next send to it succeeds — the demo chat does exactly this for a room the broker does not know yet.
 */
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createClient, memoryStorage, type SamsaClient } from '@samsa/client-browser'
import { startBrokerFixture, type BrokerFixture } from '../support/broker-fixture.js'

let broker: BrokerFixture | null = null
const clients: SamsaClient[] = []
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()))
  await broker?.dispose()
  broker = null
})

describe('a send after its topic is created', () => {
  it.each([['plain', {}], ['durable (id, acks all)', { id: 'chat', acks: 'all' as const }]])('%s producer: succeeds after an UNKNOWN_TOPIC_OR_PARTITION for the same topic and partition', async (_, opts) => {
    broker = await startBrokerFixture()
    const c = createClient({ brokers: broker.running.url, clientId: 'late-topic', WebSocket: WebSocket as never, storage: memoryStorage() })
    clients.push(c)
    const p = c.producer({ lingerMs: 0, ...opts })
    for (let round = 0; round < 3; round++) {
      const topic = `late-${round}`
      await expect(p.send(topic, [{ value: 'early', partition: 0 }])).rejects.toMatchObject({ errorName: 'UNKNOWN_TOPIC_OR_PARTITION' })
      await c.admin.createTopic(topic, { partitions: 1 })
      expect(await p.send(topic, [{ value: 'late', partition: 0 }])).toEqual([{ topic, partition: 0, offset: 0 }])
    }
  })
})
