/**
 * @module How the Worker and the objects name a namespace's Durable Objects and tell an object what it is. The
 * catalog object of namespace N is named N (the name the one object per namespace had before, so its storage carries
 * over); the object of topic T in N is `N/t/T` (a namespace name holds no `/`, so no two names meet).
 */

/** The object's role: `catalog` or `topic` (set by the Worker on each request, persisted by the object). */
export const ROLE_HEADER = 'samsa-object-role'
/** The namespace the object belongs to (how a topic object reaches its catalog). */
export const NAMESPACE_HEADER = 'samsa-namespace'
/** A topic object's topic. */
export const TOPIC_HEADER = 'samsa-topic'

export function catalogObjectName(namespace: string): string {
  return namespace
}

export function topicObjectName(namespace: string, topic: string): string {
  return `${namespace}/t/${topic}`
}
