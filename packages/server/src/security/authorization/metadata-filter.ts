/**
 * @module Metadata as the principal may see it: a listing of all topics holds only those it may describe; a topic it
 * names but may not describe is answered TOPIC_AUTHORIZATION_FAILED with no partitions, whether or not it exists
 * (the answer must not tell which topics exist). The broker is asked only about the topics the principal may see.
 */
import { ErrorCodes, type MetadataResponse, type TopicMetadata } from '@samsa/shared'
import type { Broker } from '../../broker/broker.js'
import type { Principal } from '../principal.js'

type Answer = MetadataResponse | Promise<MetadataResponse>

/**
 * `answer` is asked about the names the principal may describe, in request order; `kept[i]` says whether the i-th
 * requested name is among them (null: no filtering), to filter what is aligned with the names (a wait's epochs).
 */
export function authorizedMetadata(
  broker: Broker, principal: Principal, names: readonly string[] | null, answer: (names: readonly string[] | null, kept: readonly boolean[] | null) => Answer,
): Answer {
  const access = broker.access
  const may = (name: string) => access.may(principal, 'describe', name)
  if (!access.enabled || principal.kind === 'peer') return answer(names, null)
  if (names === null) return answer(broker.listTopics().map((t) => t.name).filter(may).sort(), null)
  const distinct = [...new Set(names)]
  const kept = names.map(may)
  const refused = (name: string): TopicMetadata => ({ name, errorCode: ErrorCodes.TOPIC_AUTHORIZATION_FAILED.code, partitions: [] })
  const merge = (r: MetadataResponse): MetadataResponse => {
    const byName = new Map(r.topics.map((t) => [t.name, t]))
    return { brokers: r.brokers, topics: distinct.map((name) => byName.get(name) ?? refused(name)) }
  }
  const r = answer(names.filter((_, i) => kept[i]), kept)
  return r instanceof Promise ? r.then(merge) : merge(r)
}
