/**
 * @module ReplicaIdentity: which topic a replica directory belongs to (Kafka's partition.metadata, KIP-516), pure.
 * A topic deleted and created again under its name is another topic, whose replicas reuse the directory path
 * topics/<topic>/<partition>/ and whose leader epochs restart at 0; a node down meanwhile comes back with the old
 * topic's records there, which truncation by leader epoch cannot tell from the new topic's. So every replica
 * directory records its topic's identity in `replica.json`, written (temp, fsync, rename) before its log is opened
 * for the first time, and a replica whose recorded identity is not the metadata's is stale: deleted and started
 * empty, to be fetched again from the leader.
 *
 * The identity is the topic's id (null for every topic the API creates today) and the metadata offset of its
 * createTopic record: both come from the metadata log, so every node sees the same pair, and the offset alone never
 * repeats for two topics.
 *
 * A directory without the file comes from before this rule (or from a crash between creating the directory and
 * writing the file, with nothing appended yet). Such a replica is kept (and its identity written) only when it is
 * not empty and this broker leads the partition or is in its ISR: then its records may be the only copy of
 * committed ones, and deleting it could lose them. Otherwise it is replaced: an empty one loses nothing, and a
 * follower outside the ISR holds nothing the partition needs, so fetching it again costs only the transfer.
 */

export const REPLICA_IDENTITY_FILE = 'replica.json'

export interface TopicIdentity {
  readonly topicId: string | null
  /** The metadata offset (Raft index) of the topic's createTopic record. */
  readonly createdAtOffset: number
}

/** What opening a replica for a topic asks of the directory. */
export interface ReplicaOwner {
  readonly identity: TopicIdentity
  /** Whether a replica without a recorded identity and with records may be kept (its broker leads or is in the ISR). */
  readonly adoptUnmarked: boolean
}

/** keep: the replica is this topic's; adopt: keep it and record the identity; replace: delete it and start empty. */
export type ReplicaVerdict = 'keep' | 'adopt' | 'replace'

export function sameTopic(a: TopicIdentity, b: TopicIdentity): boolean {
  return a.topicId === b.topicId && a.createdAtOffset === b.createdAtOffset
}

/** `recorded`: the directory's identity, null when it has none (or an unreadable one). */
export function replicaVerdict(recorded: TopicIdentity | null, owner: ReplicaOwner, logIsEmpty: boolean): ReplicaVerdict {
  if (recorded) return sameTopic(recorded, owner.identity) ? 'keep' : 'replace'
  return owner.adoptUnmarked && !logIsEmpty ? 'adopt' : 'replace'
}

const enc = new TextEncoder()
const dec = new TextDecoder()

export function encodeReplicaIdentity(identity: TopicIdentity): Uint8Array {
  return enc.encode(`${JSON.stringify({ version: 1, topicId: identity.topicId, createdAtOffset: identity.createdAtOffset })}\n`)
}

/** The identity a file records, or null when the bytes are not a version-1 identity. */
export function decodeReplicaIdentity(bytes: Uint8Array): TopicIdentity | null {
  let v: unknown
  try {
    v = JSON.parse(dec.decode(bytes))
  } catch {
    return null
  }
  if (typeof v !== 'object' || v === null) return null
  const version: unknown = Reflect.get(v, 'version')
  const topicId: unknown = Reflect.get(v, 'topicId')
  const createdAtOffset: unknown = Reflect.get(v, 'createdAtOffset')
  if (version !== 1 || !(topicId === null || typeof topicId === 'string')) return null
  if (typeof createdAtOffset !== 'number' || !Number.isSafeInteger(createdAtOffset) || createdAtOffset < 0) return null
  return { topicId, createdAtOffset }
}
