/**
 * @module The one check of a topic creation's arguments, for the protocol's createTopic and REST's POST /v1/topics
 * alike, so both answer a bad name or partition count with the same code and the same message.
 */
import { z } from 'zod'
import { ErrorMessages, SamsaError, topicNameProblem } from '@samsa/shared'
import { showValue } from './broker-config.js'

export interface CreateTopicArgs {
  readonly name: string
  readonly partitions: number
}

/** INVALID_TOPIC_EXCEPTION for a bad name, INVALID_PARTITIONS for a count outside 1..maxPartitionsPerTopic. */
export function parseCreateTopic(name: unknown, partitions: unknown, maxPartitionsPerTopic: number): CreateTopicArgs {
  if (typeof name !== 'string') throw new SamsaError('INVALID_TOPIC_EXCEPTION', `topic name must be a string, got ${showValue(name)}`)
  const problem = topicNameProblem(name)
  if (problem) throw new SamsaError('INVALID_TOPIC_EXCEPTION', problem)
  const error = (iss: { input?: unknown }) => ErrorMessages.invalidPartitions(maxPartitionsPerTopic, iss.input)
  const count = z.int({ error }).min(1, { error }).max(maxPartitionsPerTopic, { error }).safeParse(partitions)
  if (!count.success) throw new SamsaError('INVALID_PARTITIONS', count.error.issues[0]!.message, { maxPartitionsPerTopic })
  return { name, partitions: count.data }
}
