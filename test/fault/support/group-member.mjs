#!/usr/bin/env node
/**
 * @module One consumer-group member as its own process, for fault tests (killed with SIGKILL, stopped with SIGTERM):
 * the BUILT Node SDK (`npm run build` first) joins `groupId` with the plan's API (`client.consumer({ groupId,
 * instanceId? }).subscribe(topics, { fromBeginning: true })`), processes every record it is given and writes its
 * history (test/support/group-history.ts events) as JSON lines to `historyFile`.
 *
 * Invariants: each event is one line written with a synchronous write to a file opened for appending, before the
 * member takes its next record, so a SIGKILL loses no event the member acted on (a line is whole or absent). A
 * `processed` event is written when the member is done with the record (after its recordDelayMs of work), before it
 * asks for the next, so a revocation that overtook the work shows as a record processed after its `revoked`. Commits are the SDK's own (auto commit every
 * commitIntervalMs, on revoke and on close); a `committed` event records an offset the coordinator acknowledged
 * (`sub.committed(tp)` moved), looked at every 50 ms, before a `revoked` event and after close, so its `at` is at or
 * after the acknowledgement and before the member gave the partition up. `lost` partitions (the member was fenced)
 * are written as `revoked` with `lost: true`. SIGTERM closes the subscription (commit, leave) and writes `stopped`.
 * The SDK's warnings and errors are written as `sdk-log` lines (for reading a failed history; the checker skips them).
 *
 * Usage: node group-member.mjs '<json config>'
 *   { brokers: string[], groupId, topics: string[], member, historyFile, instanceId?,
 *     rebalanceTimeoutMs?, assignor?, commitIntervalMs? (default 500), recordDelayMs? }
 */
import { closeSync, openSync, writeSync } from 'node:fs'
import WebSocket from 'ws'
import { createClient, memoryStorage } from '../../../packages/client-browser/dist/entries/groups.js'

const cfg = JSON.parse(process.argv[2] ?? '{}')
for (const k of ['brokers', 'groupId', 'topics', 'member', 'historyFile']) if (cfg[k] === undefined) throw new Error(`group-member: config.${k} is missing`)
const { member } = cfg
const fd = openSync(cfg.historyFile, 'a')
let seq = 0
const emit = (e) => writeSync(fd, `${JSON.stringify({ ...e, at: Date.now(), seq: seq++ })}\n`)

const sdkLog = (level) => (fields, msg) => emit({ type: 'sdk-log', member, level, msg: String(msg ?? ''), fields: JSON.stringify(fields ?? {}, (_, v) => (v instanceof Error ? `${v.name}: ${v.message}` : v)).slice(0, 500) })
const logger = { debug() {}, info() {}, warn: sdkLog('warn'), error: sdkLog('error'), child: () => logger }
const client = createClient({
  logger,
  brokers: cfg.brokers,
  clientId: member,
  WebSocket,
  storage: memoryStorage(),
  reconnectBackoff: { baseMs: 20, capMs: 250 },
  requestTimeoutMs: 5_000,
})
const consumer = client.consumer({
  groupId: cfg.groupId,
  autoCommit: { intervalMs: cfg.commitIntervalMs ?? 500 },
  lifecycle: null,
  ...(cfg.instanceId !== undefined && { instanceId: cfg.instanceId }),
  ...(cfg.rebalanceTimeoutMs !== undefined && { rebalanceTimeoutMs: cfg.rebalanceTimeoutMs }),
  ...(cfg.assignor !== undefined && { assignor: cfg.assignor }),
})
const sub = consumer.subscribe(cfg.topics, { fromBeginning: true })

/** Owned partitions ("topic/partition") → the greatest acknowledged commit written for this ownership. */
const owned = new Map()
const key = (t) => `${t.topic}/${t.partition}`
const tp = (k) => ({ topic: k.slice(0, k.lastIndexOf('/')), partition: Number(k.slice(k.lastIndexOf('/') + 1)) })
function noteCommits(keys = [...owned.keys()]) {
  for (const k of keys) {
    const c = sub.committed(tp(k))
    if (c && c.offset > owned.get(k)) {
      owned.set(k, c.offset)
      emit({ type: 'committed', member, memberEpoch: sub.memberEpoch, ...tp(k), offset: c.offset })
    }
  }
}
sub.on('assigned', (parts) => {
  for (const { topic, partition } of parts) {
    owned.set(key({ topic, partition }), sub.committed({ topic, partition })?.offset ?? -1)
    emit({ type: 'assigned', member, memberEpoch: sub.memberEpoch, topic, partition })
  }
})
const giveUp = (lost) => (parts) => {
  if (!lost) noteCommits(parts.map(key))
  for (const { topic, partition } of parts) {
    owned.delete(key({ topic, partition }))
    emit({ type: 'revoked', member, memberEpoch: sub.memberEpoch, topic, partition, ...(lost && { lost: true }) })
  }
}
sub.on('revoked', giveUp(false))
sub.on('lost', giveUp(true))
sub.on('error', (e) => emit({ type: 'sdk-error', member, error: String(e?.errorName ?? e?.message ?? e) }))
const timer = setInterval(() => noteCommits(), 50)

let stopping = false
process.on('SIGTERM', () => {
  if (stopping) return
  stopping = true
  void (async () => {
    const keys = [...owned.keys()]
    await sub.close()
    clearInterval(timer)
    noteCommits(keys.filter((k) => owned.has(k)))
    emit({ type: 'stopped', member })
    await client.close()
    closeSync(fd)
    process.exit(0)
  })()
})

emit({ type: 'started', member, pid: process.pid })
try {
  for await (const r of sub) {
    // The work (recordDelayMs), then the record is done: a revocation must not overtake it.
    if (cfg.recordDelayMs) await new Promise((resolve) => setTimeout(resolve, cfg.recordDelayMs))
    emit({ type: 'processed', member, memberEpoch: sub.memberEpoch, topic: r.topic, partition: r.partition, offset: r.offset, value: r.text(), mode: 'iterate' })
  }
} catch (e) {
  if (!stopping) {
    emit({ type: 'failed', member, error: String(e?.stack ?? e) })
    process.exit(1)
  }
}
