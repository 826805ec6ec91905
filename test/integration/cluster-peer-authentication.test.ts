/**
 * A cluster with a secret, in-process over real WebSockets: its own nodes join (their hellos carry peer tokens), and
 * an outsider that claims to be a node (no token, or one signed with another secret) is refused at hello with
 * SASL_AUTHENTICATION_FAILED and close 4401, so the raftMessage, brokerRegistration and replica fetch it pipelined
 * behind that hello are never handled; the refusal is counted and audited, and the cluster keeps serving.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  CloseCodes, MIN_PROTOCOL_VERSION, encodeRaftMessageFrame, encodeRequestFrame, exchanges, type HelloRequest,
} from '../../packages/shared/src/index.js'
import { signPeerToken } from '../../packages/server/src/security/authentication/peer-token.js'
import { recordingLogger, type LogLine } from '../support/broker-fixture.js'
import { InProcessCluster } from '../support/in-process-cluster.js'
import { RawConnection } from '../support/raw-connection.js'
import { produceValues } from '../support/raw-log.js'
import { until } from '../support/until.js'

const secret = new TextEncoder().encode('in-process-cluster-secret-32-bytes!!')
const CLUSTER_ID = 'samsa-local'
const T = 'guarded'
let cluster: InProcessCluster
const logs: LogLine[] = []

async function peerRefusals(nodeId: number, reason: string): Promise<number> {
  const text = await (await fetch(`${cluster.nodes.get(nodeId)!.httpUrl}/metrics`)).text()
  const m = new RegExp(`^samsa_authentication_refused_total\\{kind="peer",reason="${reason}"\\} (\\d+)`, 'm').exec(text)
  return m ? Number(m[1]) : 0
}

async function endOffset(): Promise<number> {
  const p = await cluster.partitionOn(1, T)
  return p!.highWatermark
}

beforeAll(async () => {
  cluster = await InProcessCluster.start({ dirPrefix: 'samsa-peer-auth', clusterSecret: secret, logger: recordingLogger(logs) })
  await until(async () => (await cluster.metadataOf(1, null)).brokers.length === 3, { timeoutMs: 30_000, what: 'three registered brokers' })
  const admin = await cluster.open(1)
  const created = await admin.request(exchanges.createTopic, { name: T, partitions: 1, replicationFactor: 3, minInsyncReplicas: 2 })
  if (!created.ok) throw created.error
  const leader = await until(async () => {
    const p = await cluster.partitionOn(1, T)
    return p && p.leader > 0 ? p.leader : undefined
  }, { timeoutMs: 30_000, what: 'a leader' })
  const conn = await cluster.open(leader)
  await until(() => produceValues(conn, T, 0, ['a', 'b']).then(() => true, () => false), { timeoutMs: 30_000, what: 'the first records' })
})

afterAll(() => cluster?.close())

describe('a cluster with a secret', () => {
  it.each([
    ['no token', async () => undefined, 'missing'],
    ['a token signed with another secret', async () => signPeerToken(new TextEncoder().encode('an-outsiders-guess-at-the-secret-32b'), 2, CLUSTER_ID, Date.now()), 'bad-signature'],
    ["node 3's token, claiming node 2", async () => signPeerToken(secret, 3, CLUSTER_ID, Date.now()), 'wrong-peer'],
  ])('refuses an outsider posing as node 2 with %s: raftMessage, brokerRegistration and replica fetch never handled', async (_name, token, reason) => {
    const before = await peerRefusals(1, reason)
    const hw = await endOffset()
    const brokersBefore = (await cluster.metadataOf(1, null)).brokers.length
    const c = await RawConnection.open(cluster.nodes.get(1)!.url, { hello: false })
    const t = await token()
    const hello: HelloRequest = { clientId: 'samsa-peer-2', minVersion: MIN_PROTOCOL_VERSION, maxVersion: MIN_PROTOCOL_VERSION, ...(t ? { token: t } : {}), peer: { nodeId: 2, clusterId: CLUSTER_ID } }
    const answer = c.request(exchanges.hello, hello)
    // Pipelined behind the hello, as a broker would send them once accepted.
    c.ws.send(encodeRaftMessageFrame(1, [{ type: 'vote', from: 2, to: 1, term: 1_000, index: 1_000_000, logTerm: 1_000 }]))
    c.ws.send(encodeRequestFrame(exchanges.brokerRegistration, 1, c.nextCorrelationId(), { brokerId: 2, clusterId: CLUSTER_ID, advertisedUrl: 'ws://evil.example:1', rack: null, previousBrokerEpoch: -1, incompleteReplicas: [] }))
    c.ws.send(encodeRequestFrame(exchanges.fetch, 1, c.nextCorrelationId(), { topic: T, partition: 0, offset: 0, maxBytes: 1 << 20, maxWaitMs: 0, minBytes: 0, replicaId: 2, currentLeaderEpoch: 0 }))
    const r = await answer
    expect(!r.ok && r.error.errorName).toBe('SASL_AUTHENTICATION_FAILED')
    expect((await c.waitClosed()).code).toBe(CloseCodes.UNAUTHORIZED)
    expect(await peerRefusals(1, reason)).toBe(before + 1)
    expect(logs.some((l) => l.fields['audit'] === true && l.fields['action'] === 'peer.authenticate' && l.fields['reason'] === reason && l.fields['resource'] === 'node:2')).toBe(true)
    // The cluster is unchanged and still serves.
    const meta = await cluster.metadataOf(1, null)
    expect(meta.brokers.length).toBe(brokersBefore)
    expect(meta.brokers.map((b) => b.url)).not.toContain('ws://evil.example:1')
    expect(await endOffset()).toBe(hw)
  })

  it('an ordinary client connection cannot send broker-to-broker requests either', async () => {
    const c = await cluster.open(1)
    const reg = await c.request(exchanges.brokerRegistration, { brokerId: 2, clusterId: CLUSTER_ID, advertisedUrl: 'ws://evil.example:1', rack: null, previousBrokerEpoch: -1, incompleteReplicas: [] })
    expect(!reg.ok && reg.error.errorName).toBe('CLUSTER_AUTHORIZATION_FAILED')
    const fetch = await c.request(exchanges.fetch, { topic: T, partition: 0, offset: 0, maxBytes: 1 << 20, maxWaitMs: 0, minBytes: 0, replicaId: 2, currentLeaderEpoch: 0 })
    expect(!fetch.ok && fetch.error.errorName).toMatch(/CLUSTER_AUTHORIZATION_FAILED|NOT_LEADER_OR_FOLLOWER/)
  })

  it("the cluster's own nodes, holding the secret, replicate and serve", async () => {
    const leader = (await cluster.partitionOn(1, T))!.leader
    const conn = await cluster.open(leader)
    await produceValues(conn, T, 0, ['c'])
    await until(async () => (await cluster.partitionOn(1, T))!.isr?.length === 3, { timeoutMs: 30_000, what: 'three in-sync replicas' })
  })
})
