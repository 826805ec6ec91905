import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { formatTopicPattern, parseTopicPattern, patternMatches } from './topic-pattern.js'

/** Topic-like names over a small alphabet, so prefixes and near-misses (`chat.` vs `chatroom`) are common. */
const name = fc.string({ unit: fc.constantFrom('c', 'h', 'a', 't', '.', 'r', '-', '_', '1'), minLength: 0, maxLength: 12 })
const nonEmpty = name.filter((s) => s.length > 0)

describe('topic patterns (as Kafka literal and prefixed ACLs)', () => {
  it('a literal matches exactly its own name', () => {
    fc.assert(fc.property(nonEmpty, name, (p, topic) => {
      expect(patternMatches(parseTopicPattern(p), topic)).toBe(topic === p)
    }))
  })

  it('a prefix pattern matches exactly the topics starting with its prefix', () => {
    fc.assert(fc.property(name, name, (prefix, topic) => {
      expect(patternMatches(parseTopicPattern(`${prefix}*`), topic)).toBe(topic.startsWith(prefix))
    }))
  })

  it('chat.* never matches a topic that does not begin with "chat." (no wildcard escalation: chatroom, chat, chat-x)', () => {
    const chat = parseTopicPattern('chat.*')
    expect(['chatroom', 'chat', 'chat-x', 'cha', 'xchat.a'].map((t) => patternMatches(chat, t))).toEqual([false, false, false, false, false])
    expect(patternMatches(chat, 'chat.')).toBe(true)
    fc.assert(fc.property(name, (suffix) => {
      const topic = `chat${suffix}`
      expect(patternMatches(chat, topic)).toBe(suffix.startsWith('.'))
    }))
  })

  it('"*" alone matches every topic; "*" anywhere but last, an empty pattern or a non-string is refused, naming the text', () => {
    fc.assert(fc.property(name, (topic) => patternMatches(parseTopicPattern('*'), topic)))
    expect(() => parseTopicPattern('ch*t')).toThrow(/"ch\*t".*only end a pattern/)
    expect(() => parseTopicPattern('**')).toThrow(RangeError)
    expect(() => parseTopicPattern('')).toThrow(/non-empty string/)
    expect(() => parseTopicPattern(7)).toThrow(/non-empty string, got 7/)
    expect(() => parseTopicPattern('a'.repeat(251))).toThrow(/at most 250/)
  })

  it('formats back to the text it was parsed from', () => {
    fc.assert(fc.property(nonEmpty, fc.boolean(), (p, prefix) => {
      const text = prefix ? `${p}*` : p
      expect(formatTopicPattern(parseTopicPattern(text))).toBe(text)
    }))
  })
})
