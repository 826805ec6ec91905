/**
 * @module `samsa produce`: one record per line of stdin. Lines that arrive together (one read of stdin) go out
 * as one send() without waiting for earlier acknowledgements (the producer batches and pipelines them), so a
 * large pipe moves at full speed and a typed line goes out at once. With --json one {"partition","offset"} line
 * per record is printed in input order as soon as it is acknowledged, so every printed offset is durable.
 * With --key-separator and --headers a line also carries its key and headers (the format is in line-format.ts).
 */
import { createInterface } from 'node:readline'
import { Option, type Command } from 'commander'
import type { RecordMetadata } from '@samsa/client-browser'
import { I32_MAX, intArg, separatorArg } from './arg-parsers.js'
import { brokerOption } from './broker-option.js'
import { CliError } from './cli-error.js'
import { withClient } from './client.js'
import { parseLine, type LineFormat } from './line-format.js'

type Acks = 'all' | 'leader' | 'none'

/** Sends not yet acknowledged before stdin is paused (backpressure). */
const MAX_SENDS_IN_FLIGHT = 64
/** Records per send() at most. */
const MAX_CHUNK_RECORDS = 5_000

interface ProduceOptions {
  key?: string
  keySeparator?: string
  headers?: boolean
  headerSeparator: string
  partition?: number
  acks: Acks
  json?: boolean
  broker: string
}

interface PendingSend {
  done: boolean
  metas: RecordMetadata[]
  error: unknown
}

export function registerProduce(program: Command): void {
  program
    .command('produce <topic>')
    .description('send each line of stdin as a record')
    .addOption(new Option('--key <key>', 'key for every record (keyed records go to a stable partition)').conflicts('keySeparator'))
    .addOption(new Option('--key-separator <sep>', 'each line is <key><sep><value>, split at the first <sep> (\\t for a tab)').argParser(separatorArg))
    .option('--headers', 'each line starts with its headers, name=value pairs joined by --header-separator, then a tab')
    .addOption(new Option('--header-separator <sep>', 'between the name=value pairs of --headers').argParser(separatorArg).default(','))
    .addOption(new Option('--partition <p>', 'send every record to this partition').argParser(intArg(0, I32_MAX)))
    .addOption(new Option('--acks <acks>', 'all: durable before acknowledged; leader; none: fire and forget').choices(['all', 'leader', 'none']).default('all'))
    .option('--json', 'print {"partition":…,"offset":…} per record, in input order')
    .addOption(brokerOption())
    .action(async (topic: string, o: ProduceOptions) => {
      const partition = o.partition
      const key = o.key ?? null
      const format: LineFormat = { keySeparator: o.keySeparator ?? null, headers: o.headers === true, headerSeparator: o.headerSeparator }
      await withClient(o.broker, async (client) => {
        const producer = client.producer({ acks: o.acks })
        const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })
        // In input order; the head is printed (and removed) as soon as it is acknowledged.
        const queue: PendingSend[] = []
        let failure: unknown = null
        let count = 0
        let chunk: { key: string | null; value: string; headers?: Readonly<Record<string, string>>; partition?: number }[] = []
        let badLine: string | null = null
        let flushScheduled = false
        let wakeDrained: (() => void) | null = null

        const printAcknowledged = () => {
          let out = ''
          while (queue.length > 0 && queue[0]!.done) {
            const s = queue.shift()!
            if (s.error) failure ??= s.error
            else if (o.json) for (const m of s.metas) out += `{"partition":${m.partition},"offset":${m.offset}}\n`
          }
          if (out) process.stdout.write(out)
          if (queue.length < MAX_SENDS_IN_FLIGHT / 2) lines.resume()
          if (queue.length === 0) wakeDrained?.()
        }
        const sendChunk = () => {
          flushScheduled = false
          if (chunk.length === 0) return
          const entry: PendingSend = { done: false, metas: [], error: null }
          queue.push(entry)
          producer.send(topic, chunk).then(
            (metas) => Object.assign(entry, { done: true, metas }),
            (error: unknown) => Object.assign(entry, { done: true, error }),
          ).finally(printAcknowledged)
          chunk = []
          if (queue.length >= MAX_SENDS_IN_FLIGHT) lines.pause()
        }
        lines.on('line', (line) => {
          if (badLine !== null) return
          const parsed = parseLine(line, format, key)
          if (typeof parsed === 'string') {
            // Stop at the first bad line: the lines before it are sent, nothing after it is.
            badLine = `line ${count + 1} of stdin is not in the --key-separator/--headers format: ${parsed}; ${count === 1 ? '1 record before it was' : `${count} records before it were`} sent`
            lines.close()
            return
          }
          chunk.push(partition === undefined ? parsed : { ...parsed, partition })
          count++
          if (chunk.length >= MAX_CHUNK_RECORDS) sendChunk()
          else if (!flushScheduled) {
            // Every line of this stdin read arrives before the immediate runs: one send per read.
            flushScheduled = true
            setImmediate(sendChunk)
          }
        })
        await new Promise<void>((resolve) => lines.once('close', resolve))
        sendChunk()
        if (queue.length > 0) await new Promise<void>((resolve) => (wakeDrained = resolve))
        if (failure) throw failure
        if (badLine !== null) {
          await producer.flush()
          throw new CliError(badLine)
        }
        await producer.flush()
        if (!o.json) process.stderr.write(`produced ${count} record${count === 1 ? '' : 's'} to ${topic}\n`)
        await new Promise<void>((resolve) => process.stdout.write('', () => resolve()))
      })
    })
}
