/**
 * @module Metadata as the principal may see it: a listing of all topics holds only those it may describe; a topic it
 * names but may not describe is answered TOPIC_AUTHORIZATION_FAILED with no partitions, whether or not it exists
 * (the answer must not tell which topics exist). The broker is asked only about the topics the principal may see.
 */
import { ErrorCodes, type MetadataResponse, type TopicMetadata } from '@samsa/shared'
import type { Broker } from '../../broker/broker.js'
import type { Principal } from '../principal.js'

type Answer = MetadataResponse | Promise<MetadataResponse>

export function authorizedMetadata(broker: Broker, principal: Principal, names: readonly string[] | null, answer: (names: readonly string[] | null) => Answer): Answer {
  const access = broker.access
  const may = (name: string) => access.may(principal, 'describe', name)
  if (!access.enabled || principal.kind === 'peer') return answer(names)
  if (names === null) return answer(broker.listTopics().map((t) => t.name).filter(may).sort())
  const distinct = [...new Set(names)]
  const allowed = distinct.filter(may)
  const refused = (name: string): TopicMetadata => ({ name, errorCode: ErrorCodes.TOPIC_AUTHORIZATION_FAILED.code, partitions: [] })
  const merge = (r: MetadataResponse): MetadataResponse => {
    const byName = new Map(r.topics.map((t) => [t.name, t]))
    return { brokers: r.brokers, topics: distinct.map((name) => byName.get(name) ?? refused(name)) }
  }
  const r = answer(allowed)
  return r instanceof Promise ? r.then(merge) : merge(r)
}
