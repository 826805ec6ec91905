/**
 * @module `samsa groups list | describe <group> | reset-offsets <group> --topic T --to-…`. list asks every broker of
 * the cluster (each coordinates its own groups) and merges; describe and reset-offsets ask the group's coordinator
 * (findCoordinator). reset-offsets prints its plan and changes nothing unless --execute is given; the coordinator
 * accepts the change only while the group has no members (NON_EMPTY_GROUP otherwise).
 */
import { Option, type Command } from 'commander'
import { SamsaError, exchanges, type DescribeGroupsResponse, type GroupListing } from '@samsa/shared'
import { I32_MAX, intArg } from './arg-parsers.js'
import { AdminConnection } from './admin-connection.js'
import { brokerOption } from './broker-option.js'
import { CliError } from './cli-error.js'
import { planReset, type ResetSpec } from './reset-plan.js'

/** Connections by URL, opened on first use and closed together. */
class Connections {
  readonly #open = new Map<string, Promise<AdminConnection>>()
  get(url: string): Promise<AdminConnection> {
    let c = this.#open.get(url)
    if (!c) {
      c = AdminConnection.open(url)
      this.#open.set(url, c)
    }
    return c
  }
  async first(brokers: string): Promise<AdminConnection> {
    const failures: string[] = []
    for (const b of brokers.split(',').map((x) => x.trim()).filter(Boolean)) {
      try {
        return await this.get(b)
      } catch (e) {
        failures.push(CliError.describe(e))
      }
    }
    throw new CliError(failures.join('; ') || 'no --broker given')
  }
  async close(): Promise<void> {
    for (const c of this.#open.values()) (await c.catch(() => null))?.close()
  }
}

async function withConnections<T>(fn: (c: Connections) => Promise<T>): Promise<T> {
  const c = new Connections()
  try {
    return await fn(c)
  } catch (e) {
    throw e instanceof SamsaError ? new CliError(CliError.describe(e)) : e
  } finally {
    await c.close()
  }
}

async function coordinator(conns: Connections, brokers: string, groupId: string): Promise<AdminConnection> {
  const any = await conns.first(brokers)
  const found = await any.request(exchanges.findCoordinator, { groupId })
  return conns.get(found.url)
}

export function registerGroups(program: Command): void {
  const groups = program.command('groups').description('list and describe consumer groups, reset their committed offsets')
  groups
    .command('list')
    .description('every consumer group of the cluster with its state and member count')
    .addOption(brokerOption())
    .option('--json', 'one JSON object per line')
    .action(async (o: { broker: string; json?: boolean }) => {
      await withConnections(async (conns) => {
        const meta = await (await conns.first(o.broker)).request(exchanges.metadata, { topics: [] })
        const all = new Map<string, GroupListing>()
        for (const b of meta.brokers) for (const g of (await (await conns.get(b.url)).request(exchanges.listGroups, {})).groups) all.set(g.groupId, g)
        for (const g of [...all.values()].sort((a, b) => (a.groupId < b.groupId ? -1 : 1))) {
          process.stdout.write(o.json ? `${JSON.stringify(g)}\n` : `${g.groupId}\t${g.state}\t${g.memberCount} member${g.memberCount === 1 ? '' : 's'}\tepoch ${g.groupEpoch}\n`)
        }
      })
    })
  groups
    .command('describe <group>')
    .description('members with their assignment, and per partition the committed offset, high watermark and lag')
    .addOption(brokerOption())
    .option('--json', 'print JSON')
    .action(async (groupId: string, o: { broker: string; json?: boolean }) => {
      await withConnections(async (conns) => {
        const d = await (await coordinator(conns, o.broker, groupId)).request(exchanges.describeGroups, { groupId })
        process.stdout.write(o.json ? `${JSON.stringify(d)}\n` : describeText(d))
      })
    })
  groups
    .command('reset-offsets <group>')
    .description('set the group\'s committed offsets of a topic (a dry run printing the plan unless --execute; the group must have no members)')
    .requiredOption('--topic <topic>', 'the topic whose offsets to reset')
    .option('--to-earliest', 'the first offset still in each partition')
    .option('--to-latest', 'the high watermark of each partition (skip everything)')
    .addOption(new Option('--to-offset <n>', 'this offset in every partition (clamped to the readable range)').argParser(intArg(0, Number.MAX_SAFE_INTEGER)))
    .option('--to-datetime <iso>', 'the first offset at or after this time (ISO 8601, e.g. 2026-11-30T12:00:00Z)')
    .addOption(new Option('--partitions <list>', 'only these partitions, comma-separated').argParser((v) => v.split(',').map((p) => intArg(0, I32_MAX)(p.trim()))))
    .option('--execute', 'commit the new offsets (default: print the plan only)')
    .addOption(brokerOption())
    .action(async (groupId: string, o: { topic: string; toEarliest?: boolean; toLatest?: boolean; toOffset?: number; toDatetime?: string; partitions?: number[]; execute?: boolean; broker: string }) => {
      const spec = resetSpec(o)
      await withConnections(async (conns) => {
        const coord = await coordinator(conns, o.broker, groupId)
        const any = await conns.first(o.broker)
        const meta = await any.request(exchanges.metadata, { topics: [o.topic] })
        const topic = meta.topics[0]
        if (!topic || topic.errorCode !== 0) throw new CliError(`topic ${JSON.stringify(o.topic)} does not exist`)
        const urls = new Map(meta.brokers.map((b) => [b.brokerId, b.url]))
        const committed = await coord.request(exchanges.offsetFetch, { groupId, memberId: '', memberEpoch: -1, topics: [{ topic: o.topic, partitions: topic.partitions.map((p) => p.partition) }] })
        const current = new Map((committed.topics[0]?.partitions ?? []).map((p) => [p.partition, p.offset]))
        const rows = []
        for (const p of topic.partitions) {
          if (o.partitions && !o.partitions.includes(p.partition)) continue
          const leader = await conns.get(urls.get(p.leader) ?? o.broker.split(',')[0]!.trim())
          const at = (timestamp: number) => leader.request(exchanges.listOffsets, { topic: o.topic, partition: p.partition, timestamp })
          const earliest = (await at(-2)).offset
          const latest = (await at(-1)).offset
          const byTime = spec.kind === 'datetime' ? (await at(spec.timestampMs)).offset : null
          rows.push({ partition: p.partition, current: current.get(p.partition) ?? -1, next: planReset(spec, { earliest, latest, byTime }) })
        }
        process.stdout.write(`topic\tpartition\tcurrent\tnew\n${rows.map((r) => `${o.topic}\t${r.partition}\t${r.current < 0 ? '-' : r.current}\t${r.next}`).join('\n')}\n`)
        if (!o.execute) return void process.stdout.write('dry run: nothing changed; add --execute to commit these offsets (the group must have no members)\n')
        const r = await coord.request(exchanges.offsetCommit, { groupId, memberId: '', memberEpoch: -1, topics: [{ topic: o.topic, partitions: rows.map((x) => ({ partition: x.partition, offset: x.next, leaderEpoch: -1, metadata: null })) }] })
        const failed = (r.topics[0]?.partitions ?? []).filter((p) => p.errorCode !== 0)
        if (failed.length > 0) throw new CliError(`partitions ${failed.map((p) => `${p.partition} (${SamsaError.fromCode(p.errorCode).errorName})`).join(', ')} were not reset`)
        process.stdout.write(`reset ${rows.length} partition${rows.length === 1 ? '' : 's'} of ${o.topic} for group ${groupId}\n`)
      })
    })
}

function resetSpec(o: { toEarliest?: boolean; toLatest?: boolean; toOffset?: number; toDatetime?: string }): ResetSpec {
  const given = [o.toEarliest, o.toLatest, o.toOffset !== undefined, o.toDatetime !== undefined].filter(Boolean).length
  if (given !== 1) throw new CliError('give exactly one of --to-earliest, --to-latest, --to-offset <n>, --to-datetime <iso>')
  if (o.toEarliest) return { kind: 'earliest' }
  if (o.toLatest) return { kind: 'latest' }
  if (o.toOffset !== undefined) return { kind: 'offset', offset: o.toOffset }
  const ms = Date.parse(o.toDatetime!)
  if (Number.isNaN(ms)) throw new CliError(`--to-datetime ${JSON.stringify(o.toDatetime)} is not an ISO 8601 time (e.g. 2026-11-30T12:00:00Z)`)
  return { kind: 'datetime', timestampMs: ms }
}

function describeText(d: DescribeGroupsResponse): string {
  const lines = [`group ${d.groupId}\tstate ${d.state}\tepoch ${d.groupEpoch}\tassignor ${d.assignor}`, 'member\tinstance\tepoch\thost\tassigned']
  for (const m of d.members) lines.push(`${m.memberId}\t${m.instanceId ?? '-'}\t${m.memberEpoch}\t${m.clientHost}\t${m.assignment.map((t) => `${t.topic}:${t.partitions.join(',')}`).join(' ') || '-'}`)
  lines.push('topic\tpartition\tcommitted\thighWatermark\tlag')
  for (const x of d.offsets) lines.push(`${x.topic}\t${x.partition}\t${x.committedOffset < 0 ? '-' : x.committedOffset}\t${x.highWatermark < 0 ? '-' : x.highWatermark}\t${x.lag < 0 ? '-' : x.lag}`)
  return `${lines.join('\n')}\n`
}
