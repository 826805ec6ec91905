/** @module Topic-name rules, Kafka's: 1-249 characters of [a-zA-Z0-9._-], not "." or "..". */

const LEGAL = /^[a-zA-Z0-9._-]{1,249}$/

/** Returns null when the name is legal, else the reason it is not. */
export function topicNameProblem(name: string): string | null {
  if (name.length === 0) return 'topic name is empty'
  if (name.length > 249) return `topic name is ${name.length} characters; the maximum is 249`
  if (name === '.' || name === '..') return `topic name cannot be "${name}"`
  if (!LEGAL.test(name)) return `topic name ${JSON.stringify(name)} has characters outside [a-zA-Z0-9._-]`
  return null
}
