/**
 * The cluster history checker on hand-made histories: a clean one passes, and each anomaly (lost acknowledged record,
 * duplicate, read that later vanished, two values at one offset, reordering within a producer, a consumer skipping,
 * two leaders in one leader epoch, two controllers in one term, an operation never completed) is reported.
 */
import { describe, expect, it } from 'vitest'
import { checkClusterHistory, HistoryRecorder, type ClusterHistoryInput } from './cluster-history-checker.js'

/** p sends `values` in order and each is acknowledged at the next offset of partition 0 (from `from`). */
function acked(rec: HistoryRecorder, p: string, values: string[], from = 0): void {
  values.forEach((v, i) => rec.invoke('send', p, v, 0).ok({ partition: 0, offset: from + i }))
}
const drain = (values: string[], from = 0) => values.map((value, i) => ({ partition: 0, offset: from + i, value }))
const kinds = (h: ClusterHistoryInput) => checkClusterHistory(h).anomalies.map((a) => a.kind)

describe('cluster history checker', () => {
  it('passes a clean history with an unknown send that made it and one that did not', () => {
    const rec = new HistoryRecorder()
    acked(rec, 'p1', ['p1-0', 'p1-1'])
    rec.invoke('send', 'p1', 'p1-2', 0).unknown(new Error('connection lost'))
    rec.invoke('send', 'p1', 'p1-3', 0).unknown(new Error('timeout'))
    rec.invoke('send', 'p1', 'p1-4', 0).fail(new Error('NOT_ENOUGH_REPLICAS'))
    for (const [o, v] of [[0, 'p1-0'], [1, 'p1-1'], [2, 'p1-2']] as const) rec.read('c1', { partition: 0, offset: o }, v)
    rec.sampleLeader({ observer: 1, topic: 't', partition: 0, leader: 1, leaderEpoch: 0 })
    rec.sampleLeader({ observer: 2, topic: 't', partition: 0, leader: 2, leaderEpoch: 1 })
    rec.sampleController({ observer: 1, term: 3, leaderId: 1 })
    rec.sampleController({ observer: 2, term: 3, leaderId: null })
    const r = checkClusterHistory({ ops: rec.ops, drained: drain(['p1-0', 'p1-1', 'p1-2']), leaderSamples: rec.leaderSamples, controllerSamples: rec.controllerSamples })
    expect(r.anomalies).toEqual([])
    expect(r.counts).toMatchObject({ sendInvoked: 5, sendOk: 2, sendFail: 1, sendUnknown: 2, reads: 3, drained: 3 })
  })

  it('an acknowledged record missing from the final drain is a lost write', () => {
    const rec = new HistoryRecorder()
    acked(rec, 'p1', ['p1-0', 'p1-1'])
    expect(kinds({ ops: rec.ops, drained: drain(['p1-0']) })).toEqual(['lost-write'])
  })

  it('a value twice in the log is a duplicate', () => {
    const rec = new HistoryRecorder()
    acked(rec, 'p1', ['p1-0'])
    rec.invoke('send', 'p1', 'p1-1', 0).unknown('lost')
    expect(kinds({ ops: rec.ops, drained: drain(['p1-0', 'p1-1', 'p1-1']) })).toContain('duplicate')
  })

  it('a record a consumer read that is not in the final drain vanished', () => {
    const rec = new HistoryRecorder()
    acked(rec, 'p1', ['p1-0'])
    rec.invoke('send', 'p1', 'p1-1', 0).unknown('lost')
    rec.read('c1', { partition: 0, offset: 0 }, 'p1-0')
    rec.read('c1', { partition: 0, offset: 1 }, 'p1-1')
    expect(kinds({ ops: rec.ops, drained: drain(['p1-0']) })).toEqual(['vanished-read'])
  })

  it('two values read at one offset (a consumer and the drain disagree) are reported', () => {
    const rec = new HistoryRecorder()
    acked(rec, 'p1', ['p1-0'])
    rec.invoke('send', 'p1', 'p1-1', 0).unknown('lost')
    rec.invoke('send', 'p2', 'p2-0', 0).ok({ partition: 0, offset: 1 })
    rec.read('c1', { partition: 0, offset: 1 }, 'p1-1')
    const k = kinds({ ops: rec.ops, drained: drain(['p1-0', 'p2-0']) })
    expect(k).toContain('inconsistent-offset')
    expect(k).toContain('vanished-read')
  })

  it('a producer\'s records out of send order in the log are reordered', () => {
    const rec = new HistoryRecorder()
    rec.invoke('send', 'p1', 'p1-0', 0).ok({ partition: 0, offset: 1 })
    rec.invoke('send', 'p1', 'p1-1', 0).ok({ partition: 0, offset: 0 })
    expect(kinds({ ops: rec.ops, drained: drain(['p1-1', 'p1-0']) })).toEqual(['nonmonotonic-send'])
  })

  it('a consumer session that skips an offset is reported with its process', () => {
    const rec = new HistoryRecorder()
    acked(rec, 'p1', ['p1-0', 'p1-1', 'p1-2'])
    rec.read('c1', { partition: 0, offset: 0 }, 'p1-0')
    rec.read('c1', { partition: 0, offset: 2 }, 'p1-2')
    const r = checkClusterHistory({ ops: rec.ops, drained: drain(['p1-0', 'p1-1', 'p1-2']) })
    expect(r.anomalies).toEqual([{ kind: 'poll-skip', partition: 0, expected: 1, found: 2, process: 'c1' }])
  })

  it('two nodes naming different leaders for one leader epoch are two leaders', () => {
    const rec = new HistoryRecorder()
    rec.sampleLeader({ observer: 1, topic: 't', partition: 0, leader: 1, leaderEpoch: 4 })
    rec.sampleLeader({ observer: 3, topic: 't', partition: 0, leader: 0, leaderEpoch: 4 })
    rec.sampleLeader({ observer: 2, topic: 't', partition: 0, leader: 2, leaderEpoch: 4 })
    const r = checkClusterHistory({ ops: [], drained: [], leaderSamples: rec.leaderSamples })
    expect(r.anomalies).toEqual([{ kind: 'two-leaders-one-epoch', topic: 't', partition: 0, leaderEpoch: 4, leaders: [1, 2] }])
  })

  it('two controller leaders in one term are reported', () => {
    const rec = new HistoryRecorder()
    rec.sampleController({ observer: 1, term: 7, leaderId: 1 })
    rec.sampleController({ observer: 2, term: 7, leaderId: 2 })
    rec.sampleController({ observer: 3, term: 8, leaderId: 2 })
    expect(kinds({ ops: [], drained: [], controllerSamples: rec.controllerSamples })).toEqual(['two-controllers-one-term'])
  })

  it('an invoke without a completion is reported, and a second completion throws', () => {
    const rec = new HistoryRecorder()
    const op = rec.invoke('send', 'p1', 'p1-0', 0)
    expect(kinds({ ops: rec.ops, drained: [] })).toEqual(['incomplete-operation'])
    op.ok({ partition: 0, offset: 0 })
    expect(() => op.unknown('late')).toThrow(/completed twice/)
  })
})
