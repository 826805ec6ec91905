/**
 * @module Topic patterns of ACL grants, as Kafka's literal and prefixed resource patterns: a literal topic name, or
 * a prefix followed by `*` (`chat.*` is the prefix `chat.`; `*` alone is every topic). A `*` anywhere but last is an
 * error, never a glob. Invariant: a pattern matches a topic only by equality (literal) or `startsWith` (prefix), so
 * `chat.*` never matches `chatroom` and no pattern matches more than its text says.
 */

export type TopicPattern =
  | { readonly kind: 'literal'; readonly name: string }
  | { readonly kind: 'prefix'; readonly prefix: string }

/** Longest pattern accepted (a topic name is at most 249 characters). */
const MAX_PATTERN_LENGTH = 250

/** The pattern a grant's text names; throws a RangeError naming the text when it is not one. */
export function parseTopicPattern(text: unknown): TopicPattern {
  if (typeof text !== 'string' || text.length === 0) throw new RangeError(`a topic pattern must be a non-empty string, got ${JSON.stringify(text) ?? String(text)}`)
  if (text.length > MAX_PATTERN_LENGTH) throw new RangeError(`a topic pattern has at most ${MAX_PATTERN_LENGTH} characters, got ${text.length}`)
  const star = text.indexOf('*')
  if (star === -1) return { kind: 'literal', name: text }
  if (star !== text.length - 1) throw new RangeError(`topic pattern ${JSON.stringify(text)}: "*" may only end a pattern (a prefix, e.g. "chat.*"); it is not a glob`)
  return { kind: 'prefix', prefix: text.slice(0, -1) }
}

export function patternMatches(pattern: TopicPattern, topic: string): boolean {
  return pattern.kind === 'literal' ? topic === pattern.name : topic.startsWith(pattern.prefix)
}

/** The pattern as written in a grant. */
export function formatTopicPattern(pattern: TopicPattern): string {
  return pattern.kind === 'literal' ? pattern.name : `${pattern.prefix}*`
}
