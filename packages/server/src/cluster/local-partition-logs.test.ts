import { describe, expect, it } from 'vitest'
import { QuorumController, localPartitionChanges, type MetadataImage } from '../controller/metadata/index.js'
import { TestMetadataLog } from '../controller/metadata/testing/metadata-log.js'
import { LocalPartitionLogs, type LocalReplicaOps } from './local-partition-logs.js'

/** Records the replica operations in the order LocalPartitionLogs makes them (the order is what is under test). */
function recordingOps(failOn?: string): LocalReplicaOps & { calls: string[] } {
  const calls: string[] = []
  return {
    calls,
    openLocalTopic: async (name, partitions) => {
      if (failOn === `open ${name}`) throw new Error('disk full')
      calls.push(`open ${name}/${partitions}`)
    },
    removeLocalTopic: async (name) => void calls.push(`remove ${name}`),
    becomeLeader: async (topic, partition, epoch) => void calls.push(`lead ${topic}/${partition}@${epoch}`),
  }
}

function cluster() {
  const log = new TestMetadataLog()
  const qc = new QuorumController({}, { random: () => 0 })
  for (const id of [1, 2]) {
    const r = qc.registerBroker(log.image, { brokerId: id, previousBrokerEpoch: -1, advertisedUrl: `ws://b${id}:1` }, 0)
    log.commit(r)
    log.commit(qc.heartbeat(log.image, { brokerId: id, brokerEpoch: r.brokerEpoch, caughtUpToMetadataOffset: log.image.offset }, 0))
  }
  return { log, qc }
}

describe('LocalPartitionLogs', () => {
  it('opens the topic of every local replica and leads at the new epoch; a topic deleted and created again is removed first', async () => {
    const { log, qc } = cluster()
    const ops = recordingOps()
    const roles = new LocalPartitionLogs(ops)
    const step = (before: MetadataImage) => roles.onLocalChanges(localPartitionChanges(before, log.image, 1), log.image)
    let before = log.image
    log.commit(qc.createTopic(log.image, { name: 'a', partitions: 2, replicationFactor: 2 }))
    step(before)
    await roles.settled()
    const leads = log.image.topics.get('a')!.partitions.flatMap((p, i) => (p.leader === 1 ? [`lead a/${i}@0`] : []))
    expect(ops.calls).toEqual(['open a/2', ...leads])
    ops.calls.length = 0
    before = log.image
    log.commit(qc.deleteTopic(log.image, 'a'))
    log.commit(qc.createTopic(log.image, { name: 'a', partitions: 1, replicationFactor: 2 }))
    step(before)
    await roles.settled()
    expect(ops.calls.slice(0, 2)).toEqual(['remove a', 'open a/1'])
  })

  it('logs a failed change and goes on with the next ones, in order', async () => {
    const { log, qc } = cluster()
    const ops = recordingOps('open x')
    const roles = new LocalPartitionLogs(ops)
    let before = log.image
    log.commit(qc.createTopic(log.image, { name: 'x', partitions: 1, replicationFactor: 2 }))
    roles.onLocalChanges(localPartitionChanges(before, log.image, 1), log.image)
    before = log.image
    log.commit(qc.createTopic(log.image, { name: 'y', partitions: 1, replicationFactor: 2 }))
    roles.onLocalChanges(localPartitionChanges(before, log.image, 1), log.image)
    await roles.settled()
    expect(ops.calls[0]).toBe('open y/1')
    expect(roles.pending).toBe(0)
  })
})
