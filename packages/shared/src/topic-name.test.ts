import { describe, expect, it } from 'vitest'
import { topicNameProblem } from './topic-name.js'

describe('topic names', () => {
  it.each(['orders', 'a', 'A-Z_0.9', '...', 'a..b', '-', '_', 'x'.repeat(249)])('accepts %j', (name) => {
    expect(topicNameProblem(name)).toBeNull()
  })

  it.each([
    ['empty', ''],
    ['"."', '.'],
    ['".."', '..'],
    ['a path', '../x'],
    ['a slash', 'a/b'],
    ['a backslash', 'a\\b'],
    ['a NUL', 'a\0b'],
    ['a space', 'a b'],
    ['a trailing newline', 'orders\n'],
    ['250 characters', 'x'.repeat(250)],
    ['unicode letters', 'größe'],
    ['an emoji', 'topic😀'],
    ['a colon', 'a:b'],
  ])('rejects %s', (_what, name) => {
    expect(topicNameProblem(name)).toEqual(expect.any(String))
  })

  it('says why', () => {
    expect(topicNameProblem('')).toBe('topic name is empty')
    expect(topicNameProblem('..')).toBe('topic name cannot be ".."')
    expect(topicNameProblem('x'.repeat(250))).toMatch(/250 characters; the maximum is 249/)
    expect(topicNameProblem('a/b')).toMatch(/outside/)
  })
})
