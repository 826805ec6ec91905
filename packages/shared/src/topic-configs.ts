/**
 * @module Per-topic configs (Kafka's names and meanings): the map a client sends with createTopic, checked here
 * into `TopicConfigs`, and back to the map describe shows. Unknown names and values out of range are INVALID_CONFIG;
 * an absent name takes its default. The broker stores the checked form with the topic (topic.json on a single node).
 * - `cleanup.policy`: `delete` (retention deletes old segments; the default), `compact` (the log cleaner keeps the
 *   latest record per key; retention deletes nothing), or `compact,delete` (both; `delete,compact` is the same);
 * - `delete.retention.ms`: how long a tombstone (a record with a null value) stays after the cleaner first reached it
 *   (0 .. 2^53 − 1; default one day).
 */
import { SamsaError } from './errors.js'
import { invalidTopicConfigMessage } from './error-messages.js'

export type CleanupPolicy = 'delete' | 'compact' | 'compact,delete'

export interface TopicConfigs {
  readonly cleanupPolicy: CleanupPolicy
  readonly deleteRetentionMs: number
}

export const defaultTopicConfigs: TopicConfigs = { cleanupPolicy: 'delete', deleteRetentionMs: 86_400_000 }

/** The names a topic config map may carry. */
export const TOPIC_CONFIG_NAMES = ['cleanup.policy', 'delete.retention.ms'] as const

const POLICIES: Readonly<Record<string, CleanupPolicy>> = { delete: 'delete', compact: 'compact', 'compact,delete': 'compact,delete', 'delete,compact': 'compact,delete' }

/** The checked configs of a map (names as in TOPIC_CONFIG_NAMES); throws SamsaError INVALID_CONFIG. */
export function parseTopicConfigs(entries: Readonly<Record<string, string>>): TopicConfigs {
  let { cleanupPolicy, deleteRetentionMs } = defaultTopicConfigs
  for (const [name, raw] of Object.entries(entries)) {
    const value = raw.replace(/\s+/g, '')
    if (name === 'cleanup.policy') {
      const policy = POLICIES[value]
      if (policy === undefined) throw new SamsaError('INVALID_CONFIG', invalidTopicConfigMessage(name, raw, 'delete, compact or compact,delete'))
      cleanupPolicy = policy
    } else if (name === 'delete.retention.ms') {
      const ms = /^\d+$/.test(value) ? Number(value) : NaN
      if (!Number.isSafeInteger(ms)) throw new SamsaError('INVALID_CONFIG', invalidTopicConfigMessage(name, raw, 'an integer number of ms from 0'))
      deleteRetentionMs = ms
    } else {
      throw new SamsaError('INVALID_CONFIG', invalidTopicConfigMessage(name, raw, `one of the names ${TOPIC_CONFIG_NAMES.join(', ')}`))
    }
  }
  return { cleanupPolicy, deleteRetentionMs }
}

/** The map describe shows (every name, defaults included). */
export function topicConfigEntries(c: TopicConfigs): Record<string, string> {
  return { 'cleanup.policy': c.cleanupPolicy, 'delete.retention.ms': String(c.deleteRetentionMs) }
}

/** Whether the log cleaner compacts the topic. */
export const compacts = (c: TopicConfigs): boolean => c.cleanupPolicy !== 'delete'
/** Whether retention deletes the topic's old segments. */
export const deletesOldSegments = (c: TopicConfigs): boolean => c.cleanupPolicy !== 'compact'
