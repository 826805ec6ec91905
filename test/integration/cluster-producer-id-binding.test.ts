/**
 * Producer ids bound to principals on a three-node in-process cluster with authorization on: an id alice got from
 * one broker is hers on every partition leader (another broker checks the binding with no shared state), bob's
 * produce with it is refused there and appends nothing, and the binding holds after that leader restarts. Every
 * client authenticates with a signed token (the nodes share a verification key and a cluster secret).
 */
import { afterAll, describe, expect, it } from 'vitest'
import { encodeRecordBatch, exchanges } from '@samsa/shared'
import { InProcessCluster } from '../support/in-process-cluster.js'
import type { RawConnection } from '../support/raw-connection.js'
import { TEST_AUTHENTICATION, signedToken } from '../support/test-tokens.js'
import { until } from '../support/until.js'

const T = 'bound-ids'
const clusterSecret = new TextEncoder().encode('bound-ids-cluster-secret-of-32-bytes!')
/** alice and bob have the same grants; connections opened without a token are the test's own admin (root). */
const tokens: Record<string, string> = {}

function produce(c: RawConnection, partition: number, producerId: number, baseSequence: number) {
  const batch = encodeRecordBatch({ producerId, producerEpoch: 0, baseSequence, records: [{ key: null, value: new TextEncoder().encode(`s${baseSequence}`), headers: [], timestamp: 1_700_000_000_000 }] })
  return c.request(exchanges.produce, { topic: T, partition, acks: -1, timeoutMs: 10_000, batch })
}

describe('producer ids bound to principals across a cluster', () => {
  let cluster: InProcessCluster
  afterAll(() => cluster?.close())

  it('an id from one broker is its owner\'s on every leader and nobody else\'s, before and after that leader restarts', async () => {
    for (const who of ['alice', 'bob']) tokens[who] = await signedToken(who, { read: [T], write: [T] })
    const root = await signedToken('root', { admin: true })
    cluster = await InProcessCluster.start({ dirPrefix: 'samsa-bound-ids', authentication: TEST_AUTHENTICATION, clusterSecret, token: root })
    await until(async () => (await cluster.metadataOf(1, [T])).brokers.length === 3, { timeoutMs: 30_000, what: 'three live brokers' })
    const admin = await cluster.open(1)
    expect((await admin.request(exchanges.createTopic, { name: T, partitions: 3, replicationFactor: 3, minInsyncReplicas: 1 })).ok).toBe(true)
    const parts = await until(async () => {
      const t = (await cluster.metadataOf(1, [T])).topics[0]
      return t?.errorCode === 0 && t.partitions.every((p) => p.leader > 0 && p.isr?.length === 3) ? t.partitions : undefined
    }, { timeoutMs: 20_000, what: `${T} with leaders and full ISRs` })
    // A partition led by another broker than the one alice gets her id from (node 1), when there is one.
    const p = parts.find((x) => x.leader !== 1) ?? parts[0]!
    const leader = p.leader

    const alice1 = await cluster.open(1, tokens['alice'])
    const init = await alice1.request(exchanges.initProducerId, { producerId: -1, producerEpoch: -1 })
    if (!init.ok) throw init.error
    const id = init.value.producerId

    const aliceL = await cluster.open(leader, tokens['alice'])
    const bobL = await cluster.open(leader, tokens['bob'])
    expect(await produce(aliceL, p.partition, id, 0)).toMatchObject({ ok: true, value: { baseOffset: 0 } })
    const refused = await produce(bobL, p.partition, id, 1)
    expect(refused.ok ? null : refused.error.errorName).toBe('INVALID_PRODUCER_ID_MAPPING')
    const localEnd = (node: number) => [...cluster.nodes.get(node)!.broker.partitionOffsets()].find((o) => o.topic === T && o.partition === p.partition)?.logEndOffset
    expect(localEnd(leader)).toBe(1)

    // The leader restarts: nothing was stored about the binding, and it holds all the same, there and on the new leader.
    await cluster.stopNode(leader)
    await cluster.startNode(leader)
    const bobAgain = await cluster.open(leader, tokens['bob'])
    const bump = await bobAgain.request(exchanges.initProducerId, { producerId: id, producerEpoch: 0 })
    expect(bump.ok ? null : bump.error.errorName).toBe('INVALID_PRODUCER_ID_MAPPING')
    // The partition's leader as the cluster sees it now (it may have moved while the node was down).
    const conns = new Map<string, RawConnection>()
    const as = async (who: string, node: number) => {
      const key = `${who}@${node}`
      if (!conns.has(key)) conns.set(key, await cluster.open(node, tokens[who]))
      return conns.get(key)!
    }
    let now = 0
    const second = await until(async () => {
      now = (await cluster.metadataOf(leader === 1 ? 2 : 1, [T])).topics[0]?.partitions[p.partition]?.leader ?? 0
      if (now <= 0) return undefined
      const r = await produce(await as('alice', now), p.partition, id, 1)
      return r.ok ? r.value : undefined
    }, { timeoutMs: 30_000, what: 'alice\'s next send accepted by the current leader' })
    expect(second.baseOffset).toBe(1)
    const bobNow = await as('bob', now)
    const again = await produce(bobNow, p.partition, id, 2)
    expect(again.ok ? null : again.error.errorName).toBe('INVALID_PRODUCER_ID_MAPPING')
    expect(localEnd(now)).toBe(2)
  }, 120_000)
})
