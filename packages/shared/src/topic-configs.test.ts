import { describe, expect, it } from 'vitest'
import { SamsaError } from './errors.js'
import { compacts, defaultTopicConfigs, deletesOldSegments, parseTopicConfigs, topicConfigEntries } from './topic-configs.js'

describe('topic configs', () => {
  it('defaults to delete with one day of tombstone retention', () => {
    expect(parseTopicConfigs({})).toEqual(defaultTopicConfigs)
    expect(topicConfigEntries(parseTopicConfigs({}))).toEqual({ 'cleanup.policy': 'delete', 'delete.retention.ms': '86400000' })
  })

  it('reads each cleanup.policy, in either order, and delete.retention.ms', () => {
    expect(parseTopicConfigs({ 'cleanup.policy': 'compact' })).toMatchObject({ cleanupPolicy: 'compact' })
    expect(parseTopicConfigs({ 'cleanup.policy': 'delete, compact', 'delete.retention.ms': '0' })).toEqual({ cleanupPolicy: 'compact,delete', deleteRetentionMs: 0 })
    expect(compacts(parseTopicConfigs({ 'cleanup.policy': 'compact' }))).toBe(true)
    expect(deletesOldSegments(parseTopicConfigs({ 'cleanup.policy': 'compact' }))).toBe(false)
    expect(deletesOldSegments(parseTopicConfigs({ 'cleanup.policy': 'compact,delete' }))).toBe(true)
  })

  it.each([
    [{ 'cleanup.policy': 'shred' }, 'topic config "cleanup.policy" = "shred" is not valid: expected delete, compact or compact,delete'],
    [{ 'delete.retention.ms': '-1' }, 'topic config "delete.retention.ms" = "-1" is not valid: expected an integer number of ms from 0'],
    [{ 'retention.ms': '5' }, 'topic config "retention.ms" = "5" is not valid: expected one of the names cleanup.policy, delete.retention.ms'],
  ])('refuses %j with INVALID_CONFIG', (entries, message) => {
    const e = (() => {
      try {
        parseTopicConfigs(entries)
      } catch (x) {
        return x
      }
    })()
    expect(e).toBeInstanceOf(SamsaError)
    expect(e).toMatchObject({ errorName: 'INVALID_CONFIG', message })
  })
})
