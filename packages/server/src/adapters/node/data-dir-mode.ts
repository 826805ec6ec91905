/**
 * @module Which kind of node a data directory belongs to, checked before a broker touches any topic data in it. The
 * two layouts share topics/<topic>/<partition>/ but read the rest differently: a single node takes a topic directory
 * without topic.json for an unfinished create and deletes it, which is every replica of a cluster node; a cluster
 * node deletes replicas the metadata does not assign to it, which is every topic of a single node. So a forgotten
 * (or added) --controllers would delete data: the directory is refused instead, with one line saying what it holds
 * and what to pass.
 *
 * What marks a layout: a single node's topic has topic.json; a cluster node has its controller log (a voter) and
 * replicas whose directories record their topic (broker/replica-identity.ts). A topic directory with neither is
 * ambiguous (a single node's unfinished create, or a replica from before identities were recorded) and decides
 * nothing. Only names are read: nothing is created, opened for writing or removed.
 */
import { ErrorMessages, topicNameProblem } from '@samsa/shared'
import { TOPICS_DIR, partitionOfEntry, topicDir } from '../../broker/partition-opener.js'
import { REPLICA_IDENTITY_FILE } from '../../broker/replica-identity.js'
import type { LogStorage } from '../../log/log-storage.js'

/** Where a controller voter keeps its Raft log and term (controller-node.ts). */
export const CONTROLLER_RAFT_DIR = 'controller/raft'

/** How a broker is about to use its data directory: whole topics (no --controllers) or replicas (a cluster node). */
export type DataDirMode = 'single-node' | 'cluster-node'

export class DataDirModeError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'DataDirModeError'
  }
}

export interface DataDirLayout {
  readonly controllerLog: boolean
  /** Topics with topic.json. */
  readonly singleNodeTopics: readonly string[]
  /** Topics without topic.json with a replica directory that records its topic. */
  readonly replicaTopics: readonly string[]
}

export async function readDataDirLayout(storage: LogStorage): Promise<DataDirLayout> {
  const controllerLog = (await storage.list(CONTROLLER_RAFT_DIR)).length > 0
  const singleNodeTopics: string[] = []
  const replicaTopics: string[] = []
  for (const topic of (await storage.list(TOPICS_DIR)).sort()) {
    if (topicNameProblem(topic)) continue
    const entries = await storage.list(topicDir(topic))
    if (entries.includes('topic.json')) {
      singleNodeTopics.push(topic)
      continue
    }
    for (const e of entries) {
      if (partitionOfEntry(e) === undefined) continue
      if (await storage.exists(`${topicDir(topic)}/${e}/${REPLICA_IDENTITY_FILE}`)) {
        replicaTopics.push(topic)
        break
      }
    }
  }
  return { controllerLog, singleNodeTopics, replicaTopics }
}

/** Throws DataDirModeError when the directory holds the other kind of node's data. */
export async function checkDataDirMode(storage: LogStorage, dataDir: string, mode: DataDirMode): Promise<void> {
  const layout = await readDataDirLayout(storage)
  if (mode === 'single-node' && (layout.controllerLog || layout.replicaTopics.length > 0)) {
    throw new DataDirModeError(ErrorMessages.clusterDataDirAsSingleNode(dataDir, { controllerLog: layout.controllerLog, replicaTopics: layout.replicaTopics.length }))
  }
  if (mode === 'cluster-node' && layout.singleNodeTopics.length > 0) {
    throw new DataDirModeError(ErrorMessages.singleNodeDataDirAsCluster(dataDir, layout.singleNodeTopics))
  }
}
