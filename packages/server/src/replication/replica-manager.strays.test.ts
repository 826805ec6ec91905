import { afterEach, describe, expect, it } from 'vitest'
import { EMPTY_METADATA_IMAGE } from '../controller/metadata/metadata-image.js'
import { localPartitionChanges } from '../controller/metadata/metadata-delta.js'
import { testBatch } from '../log/testing/batches.js'
import { InProcessCluster } from './testing/in-process-cluster.js'

let cluster: InProcessCluster | undefined
afterEach(async () => {
  await cluster?.stop()
  cluster = undefined
})

describe('ReplicaManager: the replicas a broker keeps', () => {
  it('complete changes (from the empty image) delete every local replica they do not name, and keep the others with their records', async () => {
    const c = (cluster = await InProcessCluster.start([1, 2, 3], { fetcher: { maxWaitMs: 50 } }))
    await c.createTopic('kept', 1, 3, 2)
    const node = c.node(2)
    const kept = node.broker.localReplica('kept', 0)
    // A replica no metadata assigns: left by a topic deleted while the broker was down.
    const stray = await node.broker.openLocalReplica('gone', 0, { identity: { topicId: null, createdAtOffset: 1 }, adoptUnmarked: true })
    await stray.append(testBatch({ records: 2 }))
    expect([...node.broker.partitionOffsets()].map((p) => p.topic).sort()).toEqual(['gone', 'kept'])

    const image = c.metadata.image
    await node.replicas.onLocalChanges(localPartitionChanges(EMPTY_METADATA_IMAGE, image, 2), image, { complete: true })
    expect([...node.broker.partitionOffsets()].map((p) => `${p.topic}/${p.partition}`)).toEqual(['kept/0'])
    expect(await node.storage.list('topics')).toEqual(['kept'])
    // The replica the image names is the same topic's: the same log, kept open.
    expect(node.broker.localReplica('kept', 0)).toBe(kept)
  })

  it('changes that are not complete delete nothing they do not name', async () => {
    const c = (cluster = await InProcessCluster.start([1, 2, 3], { fetcher: { maxWaitMs: 50 } }))
    await c.createTopic('kept', 1, 3, 2)
    const node = c.node(2)
    await node.broker.openLocalReplica('other', 0, { identity: { topicId: null, createdAtOffset: 1 }, adoptUnmarked: true })
    const image = c.metadata.image
    await node.replicas.onLocalChanges(localPartitionChanges(EMPTY_METADATA_IMAGE, image, 2), image)
    expect([...node.broker.partitionOffsets()].map((p) => p.topic).sort()).toEqual(['kept', 'other'])
  })
})
