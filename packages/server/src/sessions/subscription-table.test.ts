/**
 * SubscriptionTable.subscribe on a replicated partition whose high watermark lags its log end, as on a leader just
 * elected: a consumer resuming at a position it read from the former leader (below that leader's high watermark,
 * within this one's log) is served from there once the high watermark passes it, never told "out of range" (the
 * SDK would take that for a truncation and deliver records again). Found by e2e/cluster-leader-kill.spec.ts.
 */
import { decodePush, MAX_PROTOCOL_VERSION, scanBatches, type Push } from '@samsa/shared'
import { ANONYMOUS } from '../security/principal.js'
import { afterEach, describe, expect, it } from 'vitest'
import type { Broker } from '../broker/broker.js'
import { silentLogger } from '../clock.js'
import { MemoryLogStorage } from '../log/memory-log-storage.js'
import { defaultPartitionLogConfig, PartitionLog } from '../log/partition-log.js'
import { testBatch } from '../log/testing/batches.js'
import { ManualClock } from '../log/testing/manual-clock.js'
import { until } from '../../../../test/support/until.js'
import { SubscriptionTable } from './subscription-table.js'
import { PushReadsRegistry } from './push-reads.js'

const limits = { maxSubscriptionsPerConnection: 10, maxPushBytes: 1 << 20, maxCreditBytes: 1 << 20 }

async function leaderWithLaggingHighWatermark(): Promise<PartitionLog> {
  const log = await PartitionLog.open({
    storage: new MemoryLogStorage(), dir: 't-0', clock: new ManualClock(), logger: silentLogger, leaderEpoch: 2,
    config: { ...defaultPartitionLogConfig, retentionMs: null }, highWatermark: 'set-by-partition',
  })
  for (let i = 0; i < 4; i++) await log.append(testBatch({ records: 1, tag: `r${i}` }))
  log.advanceHighWatermark(1) // the log holds 0..3; its followers have confirmed only offset 0 so far
  return log
}

/** A table over `log`, with what it needs of a Broker; pushes decoded into `pushes`. */
function tableOver(log: PartitionLog, pushes: Push[]): SubscriptionTable {
  const broker = { limits, pushReads: new PushReadsRegistry(), partition: () => log, metrics: { recordsOut() {} }, onTopicDeleted: () => () => {}, onResigned: () => () => {}, access: { onGrantsChanged: () => () => {} } } as unknown as Broker
  return new SubscriptionTable(broker, { version: MAX_PROTOCOL_VERSION, principal: ANONYMOUS, peerNodeId: 0, send: (f) => pushes.push(decodePush(f)), tryReserveOutput: () => true, releaseOutput() {} })
}

const firstOffsets = (pushes: readonly Push[]) => pushes.flatMap((p) => (p.kind === 'records' ? [...scanBatches(p.records)].map((b) => b.header.baseOffset) : []))

describe('SubscriptionTable: a position between the high watermark and the log end', () => {
  const logs: PartitionLog[] = []
  afterEach(async () => {
    for (const l of logs.splice(0)) await l.close()
  })

  it('is accepted and served from there once the high watermark passes it; above the log end is out of range, naming the log end', async () => {
    const log = await leaderWithLaggingHighWatermark()
    logs.push(log)
    const pushes: Push[] = []
    const table = tableOver(log, pushes)
    expect(table.subscribe({ topic: 't', partition: 0, offset: 3, creditBytes: 1 << 16 })).toMatchObject({ offset: 3, highWatermark: 1 })
    table.pumpAll()
    expect(pushes).toEqual([]) // nothing above the high watermark: no read is even started
    log.advanceHighWatermark(4)
    await until(() => pushes.length > 0, { what: 'a push once the high watermark passes the position' })
    expect(firstOffsets(pushes)).toEqual([3])
    expect(pushes[0]).toMatchObject({ kind: 'records', highWatermark: 4 })
    expect(() => table.subscribe({ topic: 't', partition: 0, offset: 5, creditBytes: 1 << 16 })).toThrow(expect.objectContaining({ errorName: 'OFFSET_OUT_OF_RANGE', details: { logStartOffset: 0, logEndOffset: 4 } }))
    table.closeAll()
  })
})
