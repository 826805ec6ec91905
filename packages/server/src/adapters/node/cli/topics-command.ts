/** @module `samsa topics create|list|describe|delete`. */
import { InvalidArgumentError, Option, type Command } from 'commander'
import { defaultTopicConfigs, topicConfigEntries } from '@samsa/shared'
import { I16_MAX, I32_MAX, intArg } from './arg-parsers.js'
import { brokerOption } from './broker-option.js'
import { CliError } from './cli-error.js'
import { withClient } from './client.js'

export function registerTopics(program: Command): void {
  const topics = program.command('topics').description('create, list, describe and delete topics')
  topics
    .command('create <topic>')
    .description('create a topic')
    // The upper limit is the broker's (--max-partitions-per-topic there): it answers INVALID_PARTITIONS above it.
    .addOption(new Option('--partitions <n>', 'number of partitions, up to the broker\'s maximum').argParser(intArg(1, I32_MAX)).default(1))
    .addOption(new Option('--replication-factor <n>', 'replicas per partition, on distinct brokers (default: the cluster\'s, every live broker up to 3; 1 on a single node)').argParser(intArg(1, I16_MAX)))
    .addOption(new Option('--min-insync-replicas <n>', 'ISR members acks=all needs, at most the replication factor (default: 2 for three or more replicas, else 1)').argParser(intArg(1, I16_MAX)))
    .addOption(new Option('--config <name=value>', 'a per-topic config, repeatable: cleanup.policy=delete|compact|compact,delete, delete.retention.ms=<ms>').argParser(configArg).default({}))
    .addOption(brokerOption())
    .action(async (topic: string, o: { partitions: number; replicationFactor?: number; minInsyncReplicas?: number; config: Record<string, string>; broker: string }) => {
      if (o.minInsyncReplicas !== undefined && o.replicationFactor === undefined) throw new CliError('--min-insync-replicas needs --replication-factor')
      await withClient(o.broker, async (c) => {
        const replication = o.replicationFactor === undefined ? {} : { replicationFactor: o.replicationFactor, ...(o.minInsyncReplicas === undefined ? {} : { minInsyncReplicas: o.minInsyncReplicas }) }
        const configs = Object.keys(o.config).length === 0 ? {} : { configs: o.config }
        await c.admin.createTopic(topic, { partitions: o.partitions, ...replication, ...configs })
        const replicas = o.replicationFactor === undefined ? '' : `, replication factor ${o.replicationFactor}`
        process.stdout.write(`created topic ${topic} with ${o.partitions} partition${o.partitions === 1 ? '' : 's'}${replicas}\n`)
      })
    })
  topics
    .command('list')
    .description('list topics')
    .addOption(brokerOption())
    .option('--json', 'one JSON object per line')
    .action(async (o: { broker: string; json?: boolean }) => {
      await withClient(o.broker, async (c) => {
        for (const name of await c.admin.listTopics()) {
          const partitions = (await c.admin.describeTopic(name)).partitions.length
          process.stdout.write(o.json ? `${JSON.stringify({ name, partitions })}\n` : `${name}\t${partitions} partition${partitions === 1 ? '' : 's'}\n`)
        }
      })
    })
  topics
    .command('describe <topic>')
    .description('show partitions with their leader, offsets and, in a cluster, replicas and ISR')
    .addOption(brokerOption())
    .option('--json', 'print JSON')
    .action(async (topic: string, o: { broker: string; json?: boolean }) => {
      await withClient(o.broker, async (c) => {
        const d = { ...(await c.admin.describeTopic(topic)), configs: await topicConfigs(o.broker, topic) }
        if (o.json) return void process.stdout.write(`${JSON.stringify(d)}\n`)
        // A cluster's answer carries replicas and ISR (offsets are each partition leader's); a single node's does not.
        const replicated = d.partitions.some((p) => p.replicas !== undefined)
        process.stdout.write(`topic ${d.name}\npartition\tleader\tleaderEpoch\tlogStartOffset\thighWatermark\tlogEndOffset${replicated ? '\treplicas\tisr' : ''}\n`)
        for (const p of d.partitions) {
          const tail = replicated ? `\t${(p.replicas ?? []).join(',')}\t${(p.isr ?? []).join(',')}` : ''
          process.stdout.write(`${p.partition}\t${p.leader}\t${p.leaderEpoch}\t${p.logStartOffset}\t${p.highWatermark}\t${p.logEndOffset}${tail}\n`)
        }
        // A last line only for a topic whose configs are not all the defaults (the table above stays the whole output otherwise).
        const defaults = topicConfigEntries(defaultTopicConfigs)
        if (Object.entries(d.configs).some(([k, v]) => defaults[k] !== v)) process.stdout.write(`configs\t${Object.entries(d.configs).map(([k, v]) => `${k}=${v}`).join(' ')}\n`)
      })
    })
  topics
    .command('delete <topic>')
    .description('delete a topic and all its data')
    .addOption(brokerOption())
    .action(async (topic: string, o: { broker: string }) => {
      await withClient(o.broker, async (c) => {
        await c.admin.deleteTopic(topic)
        process.stdout.write(`deleted topic ${topic}\n`)
      })
    })
}

/** One `--config name=value`, added to the ones before it. */
function configArg(value: string, previous: Record<string, string>): Record<string, string> {
  const at = value.indexOf('=')
  if (at <= 0) throw new InvalidArgumentError('It must be name=value, e.g. cleanup.policy=compact.')
  return { ...previous, [value.slice(0, at)]: value.slice(at + 1) }
}

/**
 * The topic's configs, from the broker's REST describe (`GET /v1/topics/<name>`, the same broker over HTTP, with
 * SAMSA_TOKEN when set): the WebSocket metadata exchange does not carry them.
 */
async function topicConfigs(broker: string, topic: string): Promise<Record<string, string>> {
  const base = broker.split(',')[0]!.trim().replace(/^ws/, 'http')
  const token = process.env['SAMSA_TOKEN']
  const res = await fetch(`${base}/v1/topics/${encodeURIComponent(topic)}`, token ? { headers: { authorization: `Bearer ${token}` } } : {})
  if (!res.ok) throw new CliError(`could not read the configs of topic ${topic} from ${base}: HTTP ${res.status}`)
  const body: unknown = await res.json()
  const configs = typeof body === 'object' && body !== null && 'configs' in body ? body.configs : null
  if (typeof configs !== 'object' || configs === null) throw new CliError(`the broker at ${base} did not answer the configs of topic ${topic}`)
  return Object.fromEntries(Object.entries(configs).map(([k, v]) => [k, String(v)]))
}
