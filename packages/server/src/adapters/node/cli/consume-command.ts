/** @module `samsa consume`: print a topic's records, following new ones until --max records or --timeout-ms of silence. */
import type { Command } from 'commander'
import type { ConsumerRecord, StartFrom } from '@samsa/client-browser'
import { brokerOption } from './broker-option.js'
import { CliError } from './cli-error.js'
import { withClient } from './client.js'
import { int } from './start-command.js'

interface ConsumeOptions {
  from: string
  partition?: string
  max?: string
  timeoutMs?: string
  json?: boolean
  broker: string
}

const dec = new TextDecoder()

export function registerConsume(program: Command): void {
  program
    .command('consume <topic>')
    .description('print records from a topic')
    .option('--from <position>', 'earliest | latest | <offset>', 'earliest')
    .option('--partition <p>', 'only this partition')
    .option('--max <n>', 'exit after this many records')
    .option('--timeout-ms <ms>', 'exit after this long without a record (default: follow forever)')
    .option('--json', 'one {"topic","partition","offset","key","value","timestamp","headers"} line per record')
    .addOption(brokerOption())
    .action(async (topic: string, o: ConsumeOptions) => {
      const from = parseFrom(o.from)
      const max = o.max === undefined ? Infinity : int(o.max, '--max', 1, Number.MAX_SAFE_INTEGER)
      const timeoutMs = o.timeoutMs === undefined ? null : int(o.timeoutMs, '--timeout-ms', 1, 2 ** 31 - 1)
      const partitions = o.partition === undefined ? undefined : [int(o.partition, '--partition', 0, 2 ** 31 - 1)]
      await withClient(o.broker, async (client) => {
        // Reach the broker and check the topic first, so the idle timeout only measures silence, not connecting.
        await client.admin.describeTopic(topic)
        const sub = client.consumer().subscribe(topic, { from, ...(partitions ? { partitions } : {}) })
        let seen = 0
        let out = ''
        let timer: NodeJS.Timeout | null = null
        const arm = () => {
          if (timeoutMs === null) return
          if (timer) clearTimeout(timer)
          timer = setTimeout(() => void sub.close(), timeoutMs)
        }
        arm()
        try {
          for await (const r of sub) {
            out += format(r, o.json === true)
            seen++
            if (out.length > 65536) {
              await write(out)
              out = ''
            }
            if (seen >= max) break
            arm()
          }
        } finally {
          if (timer) clearTimeout(timer)
          if (out) await write(out)
          await sub.close()
        }
      })
    })
}

function parseFrom(from: string): StartFrom {
  if (from === 'earliest' || from === 'latest') return from
  const n = Number(from)
  if (!Number.isSafeInteger(n) || n < 0) throw new CliError(`--from must be earliest, latest or a non-negative offset, got "${from}"`)
  return { offset: n }
}

function text(b: Uint8Array | null): string | null {
  return b === null ? null : dec.decode(b)
}

function format(r: ConsumerRecord, json: boolean): string {
  if (!json) return `${text(r.value) ?? ''}\n`
  return `${JSON.stringify({ topic: r.topic, partition: r.partition, offset: r.offset, key: text(r.key), value: text(r.value), timestamp: r.timestamp, headers: r.headers })}\n`
}

function write(s: string): Promise<void> {
  return new Promise((resolve, reject) => process.stdout.write(s, (err) => (err ? reject(err) : resolve())))
}
