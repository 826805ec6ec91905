/** @module `samsa consume`: print a topic's records, following new ones until --max records or --timeout-ms of silence. */
import { Option, type Command } from 'commander'
import type { ConsumerRecord, SamsaClient, StartFrom, SubscribeOptions } from '@samsa/client-browser'
import { I32_MAX, fromArg, intArg, separatorArg } from './arg-parsers.js'
import { brokerOption } from './broker-option.js'
import { withClient } from './client.js'
import { ConsumerPositions, defaultStateDir } from './consumer-positions.js'
import { formatJson, formatText, type PrintFormat } from './line-format.js'

interface ConsumeOptions {
  from: StartFrom
  partition?: number
  max?: number
  timeoutMs?: number
  json?: boolean
  printOffset?: boolean
  printKey?: boolean
  printHeaders?: boolean
  keySeparator: string
  headerSeparator: string
  consumerId?: string
  stateDir: string
  broker: string
}

/** Printed text is written once this much is buffered, or when no more records are waiting. */
const WRITE_BYTES = 65_536

export function registerConsume(program: Command): void {
  program
    .command('consume <topic>')
    .description('print records from a topic')
    .addOption(
      new Option(
        '--from <position>',
        'earliest | latest | <offset>; with --consumer-id, only for partitions without a stored position. ' +
          'The default differs from the SDK\'s subscribe() (latest): the CLI shows what a topic holds, a page usually wants what happens from now on',
      )
        .argParser(fromArg)
        .default('earliest' as StartFrom, 'earliest'),
    )
    .addOption(new Option('--partition <p>', 'only this partition').argParser(intArg(0, I32_MAX)))
    .addOption(new Option('--max <n>', 'exit after this many records').argParser(intArg(1, Number.MAX_SAFE_INTEGER)))
    .addOption(new Option('--timeout-ms <ms>', 'exit after this long without a record (default: follow forever)').argParser(intArg(1, I32_MAX)))
    .addOption(new Option('--json', 'one {"topic","partition","offset","key","value","timestamp","headers"} line per record').conflicts(['printOffset', 'printKey', 'printHeaders']))
    .option('--print-offset', 'text lines start with <partition> TAB <offset> TAB')
    .option('--print-headers', 'then the headers (name=value pairs joined by --header-separator) and a TAB')
    .option('--print-key', 'then the key (null for none) and --key-separator; `produce --headers --key-separator` reads such lines back')
    .addOption(new Option('--key-separator <sep>', 'printed after the key (\\t for a tab)').argParser(separatorArg).default('\t', '\\t'))
    .addOption(new Option('--header-separator <sep>', 'between printed headers').argParser(separatorArg).default(','))
    .addOption(
      new Option('--consumer-id <id>', 'resume from this consumer\'s stored positions, and store them after the records are printed (as the SDK does with from: "stored")'),
    )
    .addOption(new Option('--state-dir <dir>', 'where --consumer-id positions are kept: <dir>/consumers/<broker>/<topic>/<id>.json').env('SAMSA_STATE_DIR').default(defaultStateDir(), '~/.samsa'))
    .addOption(brokerOption())
    .action(async (topic: string, o: ConsumeOptions) => {
      const store = o.consumerId === undefined ? null : await ConsumerPositions.load(o.stateDir, o.broker, topic, o.consumerId)
      const print: PrintFormat = { offset: o.printOffset === true, headers: o.printHeaders === true, key: o.printKey === true, keySeparator: o.keySeparator, headerSeparator: o.headerSeparator }
      const max = o.max ?? Infinity
      await withClient(o.broker, async (client) => {
        const sub = client.consumer().subscribe(topic, await subscribeOptions(client, topic, o, store))
        let seen = 0
        let out = ''
        /** Next offset per partition of the records in `out`: committed once `out` is written. */
        const next = new Map<number, number>()
        let writing: Promise<void> = Promise.resolve()
        let failure: unknown = null
        let scheduled = false
        const flush = (): Promise<void> => {
          if (out === '') return writing
          const text = out
          const positions = new Map(next)
          out = ''
          next.clear()
          writing = writing.then(async () => {
            await write(text)
            await store?.commit(positions)
          })
          writing.catch((e: unknown) => (failure ??= e))
          return writing
        }
        let timer: NodeJS.Timeout | null = null
        const arm = () => {
          if (o.timeoutMs === undefined) return
          if (timer) clearTimeout(timer)
          timer = setTimeout(() => void sub.close(), o.timeoutMs)
        }
        arm()
        try {
          for await (const r of sub) {
            if (failure) throw failure
            out += o.json ? formatJson(r) : formatText(r, print)
            next.set(r.partition, r.offset + 1)
            seen++
            if (seen >= max) break
            if (out.length >= WRITE_BYTES) await flush()
            else if (!scheduled) {
              // Runs once the records already delivered are consumed: a trickle is printed at once, a burst in blocks.
              scheduled = true
              setImmediate(() => {
                scheduled = false
                void flush()
              })
            }
            arm()
          }
        } finally {
          if (timer) clearTimeout(timer)
          await sub.close()
        }
        await flush()
        if (failure) throw failure
      })
    })
}

/** Where each partition starts: a stored position (--consumer-id), else --from. */
async function subscribeOptions(client: SamsaClient, topic: string, o: ConsumeOptions, store: ConsumerPositions | null): Promise<SubscribeOptions> {
  // Reach the broker and check the topic (and partition) first, so the idle timeout only measures silence, not connecting.
  const described = await client.admin.describeTopic(topic)
  const partitions = o.partition === undefined ? undefined : [o.partition]
  // An unknown --partition is left to the broker, which names it in UNKNOWN_TOPIC_OR_PARTITION.
  if (store === null || (o.partition !== undefined && !described.partitions.some((p) => p.partition === o.partition))) {
    return { from: o.from, ...(partitions ? { partitions } : {}) }
  }
  const from: Record<number, number> = {}
  for (const p of described.partitions) {
    if (partitions && !partitions.includes(p.partition)) continue
    const stored = store.positions.get(p.partition)
    from[p.partition] = stored ?? (o.from === 'earliest' ? p.logStartOffset : o.from === 'latest' ? p.highWatermark : typeof o.from === 'object' && 'offset' in o.from ? o.from.offset : p.logStartOffset)
  }
  // A stored position that retention has passed continues at the log start, as the SDK's from: 'stored' does.
  return { from, ...(partitions ? { partitions } : {}), reset: 'earliest' }
}

function write(s: string): Promise<void> {
  return new Promise((resolve, reject) => process.stdout.write(s, (err) => (err ? reject(err) : resolve())))
}
