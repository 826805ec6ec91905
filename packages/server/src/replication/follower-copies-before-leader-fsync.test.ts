/**
 * Followers copy a batch while the leader's fsync of it is still running (replica fetches read up to the leader's
 * log end), so the two fsyncs overlap instead of following each other; the high watermark, and with it acks=all and
 * what consumers see, still waits for the leader's own fsync.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { testBatch } from '../log/testing/batches.js'
import { InProcessCluster } from './testing/in-process-cluster.js'

const T = 'orders'
let cluster: InProcessCluster | undefined
let releaseSyncs: (() => void) | null = null
afterEach(async () => {
  releaseSyncs?.() // a failed assertion must not leave the leader's fsync held (stop() would wait on it)
  releaseSyncs = null
  await cluster?.stop()
  cluster = undefined
})

const settle = async () => {
  for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r))
}

describe('replication and the leader’s fsync', () => {
  it('followers have the batch before the leader’s fsync ends; acks=all and the high watermark wait for that fsync', async () => {
    const c = (cluster = await InProcessCluster.start([1, 2, 3], { fetcher: { maxWaitMs: 1_000, retryBackoffMs: 10 } }))
    await c.createTopic(T, 1, 3, 2)
    const leader = c.partition(T, 0).leader
    const followers = c.partition(T, 0).replicas.filter((r) => r !== leader)
    const log = (id: number) => c.node(id).broker.localReplica(T, 0)
    await c.node(leader).broker.produce({ topic: T, partition: 0, acks: -1, timeoutMs: 10_000, batch: testBatch({ tag: 'a', records: 1 }) })

    const release = (releaseSyncs = c.node(leader).storage.holdSyncs())
    let acked = false
    const produced = c.node(leader).broker.produce({ topic: T, partition: 0, acks: -1, timeoutMs: 10_000, batch: testBatch({ tag: 'b', records: 2 }) })
    void produced.then(() => (acked = true))
    for (let round = 0; round < 100 && !followers.every((f) => log(f).localDurableEnd === 3); round++) {
      c.clock.advance(10)
      await settle()
    }
    expect(log(leader).logEndOffset).toBe(3)
    expect(log(leader).localDurableEnd).toBe(1)
    for (const f of followers) expect(log(f).localDurableEnd).toBe(3)
    expect(log(leader).highWatermark).toBe(1)
    expect(acked).toBe(false)

    release()
    expect(await produced).toMatchObject({ baseOffset: 1 })
    expect(log(leader).highWatermark).toBe(3)
  })
})
