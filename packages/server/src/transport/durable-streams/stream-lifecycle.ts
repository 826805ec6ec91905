/**
 * @module The end of a stream (DELETE, or its TTL or expiry time passing), with forks counted: a stream that forks
 * still come from is only marked deleted (answered 410 Gone, its name not reusable); the last fork's end removes it
 * for good, and so on up a chain of forks.
 *
 * Invariants: a topic is deleted once, when its stream ends (a fork holds its own copy of what it inherited, so a
 * source's records are never needed after that); a source's fork count equals the live forks made from it.
 */
import { SamsaError } from '@samsa/shared'
import type { Broker } from '../../broker/broker.js'
import type { StreamCatalog, StreamEntry } from './stream-catalog.js'

async function deleteTopic(broker: Broker, topic: string): Promise<void> {
  await broker.deleteTopic(topic).catch((e: unknown) => {
    if (!(e instanceof SamsaError && e.errorName === 'UNKNOWN_TOPIC_OR_PARTITION')) throw e
  })
}

/** Ends a stream: soft while forks of it live, for good otherwise (then its source may end for good too). */
export async function endStream(broker: Broker, catalog: StreamCatalog, entry: StreamEntry): Promise<void> {
  if (entry.softDeleted) return
  if (entry.forks > 0) await catalog.softDelete(entry)
  else await catalog.remove(entry.topic)
  await deleteTopic(broker, entry.topic)
  let source = entry.forks > 0 || !entry.config.fork ? undefined : catalog.get(entry.config.fork.from)
  while (source && source.softDeleted && source.forks === 0) {
    await catalog.remove(source.topic)
    source = source.config.fork ? catalog.get(source.config.fork.from) : undefined
  }
}
