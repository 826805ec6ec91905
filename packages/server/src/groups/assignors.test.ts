import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { assign, chooseAssignor, type AssignorMember } from './assignors.js'
import { partitionKey, type PartitionKey } from './partition-set.js'

const counts = (entries: [string, number][]) => new Map(entries)
const members = (n: number, topics: string[]): AssignorMember[] => Array.from({ length: n }, (_, i) => ({ memberId: `m${String(i).padStart(2, '0')}`, subscribedTopics: topics }))

function checkValid(result: Map<string, Set<PartitionKey>>, total: number): number[] {
  const all = [...result.values()].flatMap((s) => [...s])
  expect(new Set(all).size).toBe(all.length) // no partition twice
  expect(all.length).toBe(total) // every partition assigned
  return [...result.values()].map((s) => s.size)
}

describe.each(['uniform', 'range'] as const)('assignor %s', (name) => {
  it('splits 6 partitions between two members 3 and 3', () => {
    const r = assign(name, { members: members(2, ['t']), partitionCounts: counts([['t', 6]]), current: new Map() })
    expect(checkValid(r, 6)).toEqual([3, 3])
  })

  it('property: balanced within 1, no partition twice, and sticky when a member joins', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 3 }), fc.integer({ min: 0, max: 1000 }), (m, partitionCounts, seed) => {
        const topics = partitionCounts.map((_, i) => `t${i}`)
        const pc = counts(topics.map((t, i) => [t, partitionCounts[i]!]))
        const total = partitionCounts.reduce((a, b) => a + b, 0)
        const before = assign(name, { members: members(m, topics), partitionCounts: pc, current: new Map() })
        const sizes = checkValid(before, total)
        if (name === 'uniform') expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1)
        else for (const t of topics) {
          const per = [...before.values()].map((s) => [...s].filter((k) => k.startsWith(`${t}:`)).length)
          expect(Math.max(...per) - Math.min(...per)).toBeLessThanOrEqual(1)
        }
        // A new member joins (its id sorts anywhere among the others).
        const joined = [...members(m, topics), { memberId: `m${String(seed % 20).padStart(2, '0')}x`, subscribedTopics: topics }]
        const after = assign(name, { members: joined, partitionCounts: pc, current: before })
        const afterSizes = checkValid(after, total)
        if (name === 'uniform') {
          expect(Math.max(...afterSizes) - Math.min(...afterSizes)).toBeLessThanOrEqual(1)
          const quota = Math.floor(total / joined.length)
          for (const [id, old] of before) {
            const kept = [...after.get(id)!].filter((k) => old.has(k)).length
            expect(kept).toBeGreaterThanOrEqual(Math.min(old.size, quota))
            // A member only loses partitions, never trades them: what it holds now it held before, or it was short.
            if (old.size >= quota) expect([...after.get(id)!].every((k) => old.has(k))).toBe(true)
          }
        } else {
          for (const t of topics) {
            const quota = Math.floor(pc.get(t)! / joined.length)
            for (const [id, old] of before) {
              const oldT = [...old].filter((k) => k.startsWith(`${t}:`))
              const kept = [...after.get(id)!].filter((k) => k.startsWith(`${t}:`) && old.has(k)).length
              expect(kept).toBeGreaterThanOrEqual(Math.min(oldT.length, quota))
            }
          }
        }
      }),
      { numRuns: 300 },
    )
  })

  it('gives a topic only to its subscribers', () => {
    const ms = [{ memberId: 'a', subscribedTopics: ['x'] }, { memberId: 'b', subscribedTopics: ['x', 'y'] }]
    const r = assign(name, { members: ms, partitionCounts: counts([['x', 2], ['y', 3]]), current: new Map() })
    checkValid(r, 5)
    for (let p = 0; p < 3; p++) expect(r.get('b')!.has(partitionKey('y', p))).toBe(true)
  })
})

describe('range assignor', () => {
  it('assigns contiguous ranges in member id order when fresh (co-partitioned topics line up)', () => {
    const r = assign('range', { members: members(3, ['a', 'b']), partitionCounts: counts([['a', 7], ['b', 7]]), current: new Map() })
    expect([...r.get('m00')!].sort()).toEqual(['a:0', 'a:1', 'a:2', 'b:0', 'b:1', 'b:2'])
    expect([...r.get('m01')!].sort()).toEqual(['a:3', 'a:4', 'b:3', 'b:4'])
    expect([...r.get('m02')!].sort()).toEqual(['a:5', 'a:6', 'b:5', 'b:6'])
  })
})

describe('chooseAssignor', () => {
  it('takes the assignor most members ask for, uniform when none asks or on a tie', () => {
    expect(chooseAssignor([])).toBe('uniform')
    expect(chooseAssignor([{ serverAssignor: null }, { serverAssignor: 'range' }])).toBe('range')
    expect(chooseAssignor([{ serverAssignor: 'uniform' }, { serverAssignor: 'range' }])).toBe('uniform')
    expect(chooseAssignor([{ serverAssignor: 'range' }, { serverAssignor: 'range' }, { serverAssignor: 'uniform' }])).toBe('range')
  })
})
