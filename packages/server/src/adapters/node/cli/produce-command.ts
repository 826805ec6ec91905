/**
 * @module `samsa produce`: one record per line of stdin. Lines are sent in chunks without waiting for each
 * acknowledgement (the producer batches and pipelines them); with --json one {"partition","offset"} line per
 * record is printed in input order once acknowledged, so every printed offset is durable.
 */
import { createInterface } from 'node:readline'
import { Option, type Command } from 'commander'
type Acks = 'all' | 'leader' | 'none'
import { brokerOption } from './broker-option.js'
import { withClient } from './client.js'
import { int } from './start-command.js'

const CHUNK_RECORDS = 1000
const MAX_CHUNKS_IN_FLIGHT = 64

interface ProduceOptions {
  key?: string
  partition?: string
  acks: Acks
  json?: boolean
  broker: string
}

export function registerProduce(program: Command): void {
  program
    .command('produce <topic>')
    .description('send each line of stdin as a record')
    .option('--key <key>', 'key for every record (keyed records go to a stable partition)')
    .option('--partition <p>', 'send every record to this partition')
    .addOption(new Option('--acks <acks>', 'all: durable before acknowledged; leader; none: fire and forget').choices(['all', 'leader', 'none']).default('all'))
    .option('--json', 'print {"partition":…,"offset":…} per record, in input order')
    .addOption(brokerOption())
    .action(async (topic: string, o: ProduceOptions) => {
      const partition = o.partition === undefined ? undefined : int(o.partition, '--partition', 0, 2 ** 31 - 1)
      await withClient(o.broker, async (client) => {
        const producer = client.producer({ acks: o.acks })
        const inFlight: Promise<{ partition: number; offset: number }[]>[] = []
        let out = ''
        let count = 0
        const settleOldest = async () => {
          const metas = await inFlight.shift()!
          if (o.json) {
            for (const m of metas) out += `{"partition":${m.partition},"offset":${m.offset}}\n`
            if (out.length > 65536) await write(out).then(() => (out = ''))
          }
        }
        let chunk: { key: string | null; value: string; partition?: number }[] = []
        const flushChunk = () => {
          const p = producer.send(topic, chunk)
          p.catch(() => {}) // surfaced when awaited in order
          inFlight.push(p)
          chunk = []
        }
        const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })
        for await (const line of lines) {
          chunk.push(partition === undefined ? { key: o.key ?? null, value: line } : { key: o.key ?? null, value: line, partition })
          count++
          if (chunk.length >= CHUNK_RECORDS) {
            flushChunk()
            while (inFlight.length > MAX_CHUNKS_IN_FLIGHT) await settleOldest()
          }
        }
        if (chunk.length > 0) flushChunk()
        while (inFlight.length > 0) await settleOldest()
        await producer.flush()
        if (out) await write(out)
        if (!o.json) process.stderr.write(`produced ${count} record${count === 1 ? '' : 's'} to ${topic}\n`)
      })
    })
}

function write(s: string): Promise<void> {
  return new Promise((resolve, reject) => process.stdout.write(s, (err) => (err ? reject(err) : resolve())))
}
