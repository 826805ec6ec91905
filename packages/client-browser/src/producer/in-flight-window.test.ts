import { ErrorCodes, SamsaError, type ErrorName } from '@samsa/shared'
import { describe, expect, it } from 'vitest'
import { clientClosedError } from '../connection/connection.js'
import { planRecovery, sentBehind, type Outcome, type RecoveryRules, type WindowBatch } from './in-flight-window.js'

const ok: Outcome = { ok: { baseOffset: 0, logAppendTimeMs: 0, logStartOffset: 0, duplicate: false } }
const failed = (name: ErrorName, details: Record<string, number> = {}): Outcome => ({ error: new SamsaError(ErrorCodes[name], undefined, details) })
const closedClient: Outcome = { error: clientClosedError('the client is closed') }

/** A window of batches of `count` records each, contiguous from sequence 0. */
function window(...batches: { outcome: Outcome | null; count?: number; attempts?: number; sentBehind?: boolean; unknownSinceMs?: number | null }[]): WindowBatch[] {
  let next = 0
  return batches.map(({ count = 2, attempts = 1, ...rest }) => {
    const b = { baseSequence: next, recordCount: count, attempts, ...rest }
    next += count
    return b
  })
}
const rules: RecoveryRules = { maxRetries: 3, nowMs: 10_000 }
const planOf = (w: readonly WindowBatch[], r: RecoveryRules = rules) => {
  const plan = planRecovery(w, r)
  if (plan.fatal !== undefined) throw new Error(`unexpected fatal plan: ${plan.fatal.errorName}`)
  return plan
}

describe('planRecovery', () => {
  it('ends the pipeline on a fencing or a closed client anywhere in the window, whatever precedes it', () => {
    expect(planRecovery(window({ outcome: failed('REQUEST_TIMED_OUT') }, { outcome: failed('INVALID_PRODUCER_EPOCH') }), rules)).toMatchObject({ fatal: { errorName: 'INVALID_PRODUCER_EPOCH' } })
    expect(planRecovery(window({ outcome: ok }, { outcome: closedClient }), rules).fatal?.retriable).toBe(false)
  })

  it('resends a batch that may have been appended with its own sequence, asking where the leader is now', () => {
    const plan = planOf(window({ outcome: ok }, { outcome: failed('REQUEST_TIMED_OUT'), attempts: 50 }, { outcome: failed('OUT_OF_ORDER_SEQUENCE_NUMBER') }))
    expect(plan.verdicts).toEqual([
      { action: 'keep', baseSequence: 0 },
      { action: 'resend', baseSequence: 2, refreshMetadata: true, lostSequences: 0, unknownSinceMs: null },
      // behind a failed batch: not its own failure, resent after it with its sequence
      { action: 'resend', baseSequence: 4, refreshMetadata: false, lostSequences: 0, unknownSinceMs: null },
    ])
    expect(plan).toMatchObject({ removedRecords: 0, resequenced: false, backoff: true })
  })

  it('resends at once (no backoff) after a lost connection and behind it', () => {
    const plan = planOf(window({ outcome: failed('NETWORK_EXCEPTION') }, { outcome: failed('OUT_OF_ORDER_SEQUENCE_NUMBER'), attempts: 99 }))
    expect(plan.verdicts.map((v) => v.action)).toEqual(['resend', 'resend'])
    expect(plan.backoff).toBe(false)
  })

  it('takes an OUT_OF_ORDER_SEQUENCE_NUMBER sent behind an unacknowledged batch as not its own, even alone in the window', () => {
    const plan = planOf(window({ outcome: ok }, { outcome: failed('OUT_OF_ORDER_SEQUENCE_NUMBER'), sentBehind: true, attempts: 99 }))
    expect(plan.verdicts[1]).toMatchObject({ action: 'resend', baseSequence: 2 })
    expect(plan.backoff).toBe(false)
  })

  it('fails an OUT_OF_ORDER_SEQUENCE_NUMBER of the batch after the last acknowledged one for good', () => {
    const plan = planOf(window({ outcome: ok }, { outcome: failed('OUT_OF_ORDER_SEQUENCE_NUMBER') }, { outcome: failed('OUT_OF_ORDER_SEQUENCE_NUMBER') }))
    expect(plan.verdicts[1]).toMatchObject({ action: 'fail', baseSequence: 2, error: { errorName: 'OUT_OF_ORDER_SEQUENCE_NUMBER' } })
    // the batch after it gets its sequences
    expect(plan.verdicts[2]).toMatchObject({ action: 'resend', baseSequence: 2 })
    expect(plan.removedRecords).toBe(2)
  })

  it('continues at the sequence the leader names when it lost acknowledged batches, moving the later batches down with it', () => {
    const plan = planOf(window({ outcome: ok, count: 3 }, { outcome: failed('OUT_OF_ORDER_SEQUENCE_NUMBER', { expectedSequence: 1 }) }, { outcome: failed('OUT_OF_ORDER_SEQUENCE_NUMBER') }))
    expect(plan.verdicts).toEqual([
      { action: 'keep', baseSequence: 0 },
      { action: 'resend', baseSequence: 1, refreshMetadata: false, lostSequences: 2, unknownSinceMs: null },
      { action: 'resend', baseSequence: 3, refreshMetadata: false, lostSequences: 0, unknownSinceMs: null },
    ])
    expect(plan).toMatchObject({ removedRecords: 2, resequenced: true })
  })

  it('gives a failed batch\'s sequences to the batches after it, but never moves one down over an acknowledged batch', () => {
    const plan = planOf(window({ outcome: failed('MESSAGE_TOO_LARGE'), count: 4 }, { outcome: failed('REQUEST_TIMED_OUT') }, { outcome: ok }, { outcome: failed('NOT_ENOUGH_REPLICAS') }))
    expect(plan.verdicts.map((v) => [v.action, v.baseSequence])).toEqual([
      ['fail', 0],
      ['resend', 0],
      ['keep', 6],
      ['resend', 8],
    ])
    expect(plan.removedRecords).toBe(0)
  })

  it('spends attempts only on errors that cannot have appended the batch', () => {
    expect(planOf(window({ outcome: failed('NOT_ENOUGH_REPLICAS'), attempts: 3 })).verdicts[0]!.action).toBe('resend')
    expect(planOf(window({ outcome: failed('NOT_ENOUGH_REPLICAS'), attempts: 4 })).verdicts[0]!.action).toBe('fail')
    expect(planOf(window({ outcome: failed('KAFKA_STORAGE_ERROR'), attempts: 400 })).verdicts[0]!.action).toBe('resend')
  })

  it('retries UNKNOWN_TOPIC_OR_PARTITION only while metadata may propagate, for the allowed time from its first answer', () => {
    const unknown = (unknownSinceMs: number | null, unknownTopicRetryMs?: number) =>
      planOf(window({ outcome: failed('UNKNOWN_TOPIC_OR_PARTITION'), unknownSinceMs }), { ...rules, unknownTopicRetryMs: () => unknownTopicRetryMs }).verdicts[0]
    expect(unknown(null)).toMatchObject({ action: 'fail', refreshMetadata: true })
    expect(unknown(null, 5_000)).toMatchObject({ action: 'resend', unknownSinceMs: 10_000 })
    expect(unknown(5_000, 5_000)).toMatchObject({ action: 'resend', unknownSinceMs: 5_000 })
    expect(unknown(4_999, 5_000)).toMatchObject({ action: 'fail' })
  })
})

describe('sentBehind', () => {
  it('is true when an earlier batch of the window has no acknowledgement', () => {
    const w = window({ outcome: ok }, { outcome: null }, { outcome: null })
    expect(sentBehind(w, w[1]!)).toBe(false)
    expect(sentBehind(w, w[2]!)).toBe(true)
    const afterFailure = window({ outcome: failed('NETWORK_EXCEPTION') }, { outcome: null })
    expect(sentBehind(afterFailure, afterFailure[1]!)).toBe(true)
  })
})
