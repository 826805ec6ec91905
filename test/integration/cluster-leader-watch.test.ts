/**
 * Leader watches (metadata requests with a wait): a broker holds the request until its metadata names a newer leader
 * epoch than the client knows, then answers with the new leader; a closed connection or a maxWaitMs ends the hold.
 * Three in-process combined-mode nodes over real WebSockets and files; the held count is read from /metrics.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { decodeResponseFrame, encodeRequestFrame, exchanges } from '@samsa/shared'
import { InProcessCluster } from '../support/in-process-cluster.js'
import { until } from '../support/until.js'

const T = 'watched'

/** samsa_metadata_waits as node `id` reports it. */
async function heldOn(cluster: InProcessCluster, id: number): Promise<number> {
  const text = await (await fetch(`${cluster.nodes.get(id)!.httpUrl}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith('samsa_metadata_waits '))
  if (line === undefined) throw new Error('no samsa_metadata_waits in /metrics')
  return Number(line.split(' ')[1])
}

describe('leader watches', () => {
  let cluster: InProcessCluster
  afterAll(() => cluster?.close())

  it('are held until a newer leader is elected and then answered with it; a closed connection lets go of its watch', async () => {
    cluster = await InProcessCluster.start({ dirPrefix: 'samsa-leader-watch' })
    await until(async () => (await cluster.metadataOf(1, [T])).brokers.length === 3, { timeoutMs: 30_000, what: 'three live brokers' })
    const admin = await cluster.open(1)
    expect((await admin.request(exchanges.createTopic, { name: T, partitions: 1, replicationFactor: 3, minInsyncReplicas: 2 })).ok).toBe(true)
    const first = await until(async () => {
      const p = await cluster.partitionOn(1, T)
      return p && p.leader > 0 && p.isr?.length === 3 ? p : undefined
    }, { timeoutMs: 20_000, what: `${T}/0 with a leader and three replicas in the ISR` })
    const watcher = [1, 2, 3].find((id) => id !== first.leader)!

    // One watch that knows the current leader (held), one from a connection that then closes (let go).
    const w = await cluster.open(watcher)
    const wait = { maxWaitMs: 30_000, leaderEpochs: [[first.leaderEpoch]] }
    const answer = w.sendRaw(encodeRequestFrame(exchanges.metadata, w.version, w.nextCorrelationId(), { topics: [T], wait }), 60_000)
    const gone = await cluster.open(watcher)
    const goneAnswer = gone.sendRaw(encodeRequestFrame(exchanges.metadata, gone.version, gone.nextCorrelationId(), { topics: [T], wait }), 60_000)
    await until(async () => ((await heldOn(cluster, watcher)) === 2 ? true : undefined), { timeoutMs: 10_000, what: 'two watches held' })
    gone.close()
    await expect(goneAnswer).rejects.toThrow(/closed/)
    await until(async () => ((await heldOn(cluster, watcher)) === 1 ? true : undefined), { timeoutMs: 10_000, what: 'the closed connection\'s watch let go' })

    // The leader leaves (a controlled shutdown hands leadership over at once): the watch answers with the new leader.
    await cluster.nodes.get(first.leader)!.close()
    cluster.nodes.delete(first.leader)
    const r = decodeResponseFrame(await answer)
    if (r.body === null) throw new Error(`the watch failed: ${r.error?.message}`)
    const moved = exchanges.metadata.decodeResponse(r.body).topics[0]!.partitions[0]!
    expect(moved.leader).not.toBe(first.leader)
    expect(moved.leader).toBeGreaterThan(0)
    expect(moved.leaderEpoch).toBeGreaterThan(first.leaderEpoch)
    expect(await heldOn(cluster, watcher)).toBe(0)

    // A watch that already knows less than the broker is answered at once.
    const stale = await w.request(exchanges.metadata, { topics: [T], wait })
    expect(stale.ok && stale.value.topics[0]!.partitions[0]!.leaderEpoch).toBe(moved.leaderEpoch)
  }, 120_000)
})
