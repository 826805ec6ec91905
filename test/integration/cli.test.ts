/**
 * The `samsa` CLI end to end, run from the BUILT dist against a broker child process (`npm run build` first):
 * help for every command, topic administration, produce with --key/--partition, consume positions and limits,
 * the --json record shape, one-line errors with a non-zero exit (bounded in time, never a hang), a busy port,
 * and a clean SIGTERM shutdown.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { partitionForKey } from '@samsa/client-browser'
import { killAll, runCli, spawnCli, startChildBroker, type ChildBroker, type CliResult } from '../support/child-broker.js'
import { batchesIn, segmentFiles } from '../support/raw-log.js'
import { until } from '../support/until.js'

const dirs: string[] = []
let broker: ChildBroker
let B: string

async function tempDir(prefix: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix))
  dirs.push(d)
  return d
}

beforeAll(async () => {
  broker = await startChildBroker(await tempDir('samsa-cli-'))
  B = broker.url
})

afterAll(async () => {
  await broker?.stop()
  await killAll()
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

const ok = (r: CliResult) => {
  expect(r.timedOut, `timed out; stderr: ${r.stderr}`).toBe(false)
  expect(r.code, `exit ${r.code}; stderr: ${r.stderr}`).toBe(0)
  return r
}

/** A failed command: non-zero exit, nothing on stdout, exactly one line on stderr starting with "samsa:". */
function failsClearly(r: CliResult, pattern: RegExp): void {
  expect(r.timedOut, `the command hung (killed after ${r.ms} ms); stderr: ${r.stderr}`).toBe(false)
  expect(r.code, `stderr: ${r.stderr}`).not.toBe(0)
  expect(r.code).not.toBeNull()
  const lines = r.stderr.trimEnd().split('\n')
  expect(lines, `one line on stderr, got: ${JSON.stringify(r.stderr)}`).toHaveLength(1)
  expect(lines[0]).toMatch(/^samsa: /)
  expect(lines[0]).toMatch(pattern)
  expect(r.stdout).toBe('')
}

const jsonLines = <T>(s: string): T[] => s.split('\n').filter(Boolean).map((l) => JSON.parse(l) as T)

interface JsonRecord {
  topic: string
  partition: number
  offset: number
  key: string | null
  value: string | null
  timestamp: number
  headers: Record<string, string>
}

describe('samsa --help', () => {
  const commands: [string[], string[]][] = [
    [[], ['start', 'topics', 'produce', 'consume']],
    [['start'], ['--port', '--host', '--data', '--fsync', '--fsync-interval-ms', '--retention-hours', '--retention-bytes', '--segment-bytes', '--log-format', '--log-level']],
    [['topics'], ['create', 'list', 'describe', 'delete']],
    [['topics', 'create'], ['--partitions', '--broker']],
    [['topics', 'list'], ['--broker', '--json']],
    [['topics', 'describe'], ['--broker', '--json']],
    [['topics', 'delete'], ['--broker']],
    [['produce'], ['--key', '--partition', '--acks', '--json', '--broker']],
    [['consume'], ['--from', '--partition', '--max', '--timeout-ms', '--json', '--broker']],
  ]
  it.each(commands)('samsa %j --help exits 0 and lists %j', async (cmd, expected) => {
    const r = ok(await runCli([...cmd, '--help']))
    for (const word of expected) expect(r.stdout).toContain(word)
    expect(r.stdout).toMatch(/^Usage: samsa/)
  })
})

describe('samsa topics', () => {
  it('creates, lists, describes and deletes a topic', async () => {
    expect(ok(await runCli(['topics', 'create', 'orders', '--partitions', '3', '--broker', B])).stdout).toBe('created topic orders with 3 partitions\n')
    expect(ok(await runCli(['topics', 'create', 'single', '--broker', B])).stdout).toBe('created topic single with 1 partition\n')
    const list = ok(await runCli(['topics', 'list', '--broker', B])).stdout
    expect(list.split('\n')).toEqual(expect.arrayContaining([expect.stringMatching(/^orders\b/), expect.stringMatching(/^single\b/)]))
    const listJson = jsonLines<unknown>(ok(await runCli(['topics', 'list', '--json', '--broker', B])).stdout)
    expect(listJson.length).toBeGreaterThanOrEqual(2)
    expect(JSON.stringify(listJson)).toContain('orders')

    const described = JSON.parse(ok(await runCli(['topics', 'describe', 'orders', '--json', '--broker', B])).stdout) as { name: string; partitions: Record<string, number>[] }
    expect(described.name).toBe('orders')
    expect(described.partitions.map((p) => p.partition)).toEqual([0, 1, 2])
    for (const p of described.partitions) expect(p).toMatchObject({ leader: 0, logStartOffset: 0, highWatermark: 0, logEndOffset: 0 })
    const text = ok(await runCli(['topics', 'describe', 'orders', '--broker', B])).stdout
    expect(text).toMatch(/^topic orders\n/)
    expect(text).toMatch(/partition\s+leader\s+leaderEpoch\s+logStartOffset\s+highWatermark\s+logEndOffset/)
    expect(text.trimEnd().split('\n')).toHaveLength(5)

    failsClearly(await runCli(['topics', 'create', 'orders', '--broker', B]), /TOPIC_ALREADY_EXISTS/)
    expect(ok(await runCli(['topics', 'delete', 'single', '--broker', B])).stdout).toBe('deleted topic single\n')
    expect(ok(await runCli(['topics', 'list', '--broker', B])).stdout).not.toMatch(/^single\b/m)
    failsClearly(await runCli(['topics', 'describe', 'single', '--broker', B]), /UNKNOWN_TOPIC_OR_PARTITION/)
    failsClearly(await runCli(['topics', 'delete', 'single', '--broker', B]), /UNKNOWN_TOPIC_OR_PARTITION/)
  })

  it('takes the broker from SAMSA_BROKER', async () => {
    const r = ok(await runCli(['topics', 'list'], { env: { SAMSA_BROKER: B } }))
    expect(r.stdout).toMatch(/^orders\b/m)
  })
})

describe('samsa produce and consume', () => {
  beforeAll(async () => {
    ok(await runCli(['topics', 'create', 'pc', '--partitions', '3', '--broker', B]))
  })

  it('sends every keyed record to the key\'s partition, in order, and prints offsets in input order', async () => {
    const lines = Array.from({ length: 50 }, (_, i) => `k-${i}`)
    const r = ok(await runCli(['produce', 'pc', '--key', 'user-7', '--json', '--broker', B], { input: `${lines.join('\n')}\n` }))
    const metas = jsonLines<{ partition: number; offset: number }>(r.stdout)
    expect(metas).toHaveLength(50)
    const expected = partitionForKey(new TextEncoder().encode('user-7'), 3)
    expect(new Set(metas.map((m) => m.partition))).toEqual(new Set([expected]))
    expect(metas.map((m) => m.offset)).toEqual(Array.from({ length: 50 }, (_, i) => metas[0]!.offset + i))
    const back = jsonLines<JsonRecord>(ok(await runCli(['consume', 'pc', '--partition', String(expected), '--from', String(metas[0]!.offset), '--max', '50', '--json', '--broker', B])).stdout)
    expect(back.map((x) => x.value)).toEqual(lines)
    expect(back.every((x) => x.key === 'user-7')).toBe(true)
  })

  it('sends every record to --partition, and without --json reports the count on stderr', async () => {
    const r = ok(await runCli(['produce', 'pc', '--partition', '2', '--broker', B], { input: 'a\nb\nc\n' }))
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(/produced 3 records to pc/)
    const j = ok(await runCli(['produce', 'pc', '--partition', '2', '--json', '--broker', B], { input: 'd\ne\n' }))
    const metas = jsonLines<{ partition: number; offset: number }>(j.stdout)
    expect(metas.map((m) => m.partition)).toEqual([2, 2])
    expect(metas[1]!.offset).toBe(metas[0]!.offset + 1)
    const all = jsonLines<JsonRecord>(ok(await runCli(['consume', 'pc', '--partition', '2', '--from', 'earliest', '--timeout-ms', '1000', '--json', '--broker', B])).stdout)
    expect(all.filter((x) => x.key === null).map((x) => x.value)).toEqual(expect.arrayContaining(['a', 'b', 'c', 'd', 'e']))
    expect(all.map((x) => x.offset)).toEqual(all.map((_, i) => i))
    failsClearly(await runCli(['produce', 'pc', '--partition', '9', '--broker', B], { input: 'x\n', timeoutMs: 45_000 }), /UNKNOWN_TOPIC_OR_PARTITION|partition/)
  })

  it('prints --json records with exactly the documented fields', async () => {
    ok(await runCli(['produce', 'pc', '--partition', '1', '--key', 'kk', '--broker', B], { input: 'hello\n' }))
    const [rec] = jsonLines<JsonRecord>(ok(await runCli(['consume', 'pc', '--partition', '1', '--from', 'earliest', '--max', '1', '--json', '--broker', B])).stdout)
    expect(Object.keys(rec!)).toEqual(['topic', 'partition', 'offset', 'key', 'value', 'timestamp', 'headers'])
    expect(rec).toMatchObject({ topic: 'pc', partition: 1, offset: 0, key: 'kk', value: 'hello', headers: {} })
    expect(Math.abs(rec!.timestamp - Date.now())).toBeLessThan(60_000)
    // Without --json: the value, one per line.
    const plain = ok(await runCli(['consume', 'pc', '--partition', '1', '--from', '0', '--max', '1', '--broker', B])).stdout
    expect(plain).toBe('hello\n')
  })

  it('--from <offset> with --max reads exactly that range; --max stops without waiting', async () => {
    ok(await runCli(['topics', 'create', 'range', '--broker', B]))
    ok(await runCli(['produce', 'range', '--broker', B], { input: `${Array.from({ length: 10 }, (_, i) => `v${i}`).join('\n')}\n` }))
    const r = ok(await runCli(['consume', 'range', '--from', '5', '--max', '3', '--json', '--broker', B]))
    expect(jsonLines<JsonRecord>(r.stdout).map((x) => [x.offset, x.value])).toEqual([[5, 'v5'], [6, 'v6'], [7, 'v7']])
    const all = ok(await runCli(['consume', 'range', '--from', 'earliest', '--timeout-ms', '800', '--json', '--broker', B]))
    expect(jsonLines<JsonRecord>(all.stdout).map((x) => x.offset)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
  })

  it('--timeout-ms ends a consume that gets nothing, promptly and with exit 0', async () => {
    const r = ok(await runCli(['consume', 'range', '--from', 'latest', '--timeout-ms', '500', '--broker', B], { timeoutMs: 15_000 }))
    expect(r.stdout).toBe('')
    expect(r.ms).toBeLessThan(10_000)
  })

  it('--from latest sees only records produced after it subscribed', async () => {
    ok(await runCli(['topics', 'create', 'late', '--broker', B]))
    ok(await runCli(['produce', 'late', '--broker', B], { input: 'old-1\nold-2\n' }))
    const consumer = spawnCli(['consume', 'late', '--from', 'latest', '--max', '1', '--json', '--broker', B])
    let out = ''
    consumer.proc.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')))
    let exit: { code: number | null } | null = null
    void consumer.exited.then((e) => (exit = e))
    try {
      // The subscription's start is not observable from outside: produce a new record now and then until one arrives.
      let i = 0
      await until(
        async () => {
          if (exit) return true
          if (i < 40) ok(await runCli(['produce', 'late', '--broker', B], { input: `new-${i++}\n` }))
          return exit
        },
        { timeoutMs: 30_000, what: 'the --from latest consumer to print a new record' },
      )
      expect(exit!.code).toBe(0)
      const [rec] = jsonLines<JsonRecord>(out)
      expect(rec!.value).toMatch(/^new-\d+$/)
      expect(rec!.offset).toBeGreaterThanOrEqual(2)
    } finally {
      consumer.proc.kill('SIGKILL')
      await consumer.exited
    }
  })
})

describe('clear one-line errors and a non-zero exit', () => {
  it('a bad topic name', async () => {
    failsClearly(await runCli(['topics', 'create', 'bad name', '--broker', B]), /INVALID_TOPIC_EXCEPTION/)
    failsClearly(await runCli(['topics', 'create', '../etc', '--broker', B]), /INVALID_TOPIC_EXCEPTION/)
  })

  it('an unknown topic', async () => {
    failsClearly(await runCli(['consume', 'nope', '--timeout-ms', '500', '--broker', B]), /UNKNOWN_TOPIC_OR_PARTITION.*nope/)
    failsClearly(await runCli(['topics', 'describe', 'nope', '--broker', B]), /UNKNOWN_TOPIC_OR_PARTITION.*nope/)
    failsClearly(await runCli(['produce', 'nope', '--broker', B], { input: 'x\n', timeoutMs: 45_000 }), /UNKNOWN_TOPIC_OR_PARTITION.*nope/)
  })

  it('an unknown partition and an offset beyond the end', async () => {
    ok(await runCli(['topics', 'create', 'parts', '--partitions', '2', '--broker', B]))
    failsClearly(await runCli(['consume', 'parts', '--partition', '9', '--timeout-ms', '500', '--broker', B]), /UNKNOWN_TOPIC_OR_PARTITION.*partition 9/)
    failsClearly(await runCli(['consume', 'parts', '--partition', '0', '--from', '999999', '--timeout-ms', '500', '--broker', B]), /OFFSET_OUT_OF_RANGE.*999999/)
  })

  it('--from -3 and --partitions 0 and other bad numbers, before touching the broker', async () => {
    failsClearly(await runCli(['consume', 'pc', '--from', '-3', '--broker', B]), /--from/)
    failsClearly(await runCli(['consume', 'pc', '--from', 'yesterday', '--broker', B]), /--from/)
    failsClearly(await runCli(['topics', 'create', 'zero', '--partitions', '0', '--broker', B]), /--partitions/)
    failsClearly(await runCli(['consume', 'pc', '--max', '0', '--broker', B]), /--max/)
    failsClearly(await runCli(['consume', 'pc', '--timeout-ms', 'soon', '--broker', B]), /--timeout-ms/)
    // Commander's own usage errors add a "(run with --help for usage)" line: non-zero, on stderr, naming the choices.
    const acks = await runCli(['produce', 'pc', '--acks', 'some', '--broker', B])
    expect(acks.code).not.toBe(0)
    expect(acks.stderr).toMatch(/--acks.*'some'.*all, leader, none/)
    const list = ok(await runCli(['topics', 'list', '--broker', B])).stdout
    expect(list).not.toMatch(/^zero\b/m)
  })

  it('an unreachable broker: every client command fails within 15 s, naming the broker, instead of hanging or succeeding', async () => {
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    const dead = 'ws://127.0.0.1:1'
    const [list, consume, produce] = await Promise.all([
      runCli(['topics', 'list', '--broker', dead], { timeoutMs: 15_000 }),
      runCli(['consume', 'pc', '--broker', dead, '--timeout-ms', '1000'], { timeoutMs: 15_000 }),
      runCli(['produce', 'pc', '--broker', dead], { input: 'x\n', timeoutMs: 15_000 }),
    ])
    const problems: string[] = []
    for (const [name, r] of [['topics list', list], ['consume --timeout-ms 1000', consume], ['produce', produce]] as const) {
      try {
        failsClearly(r, /127\.0\.0\.1:1|unreachable|connect|ECONNREFUSED/i)
      } catch (e) {
        problems.push(`samsa ${name} --broker ${dead}: exit ${r.code}${r.timedOut ? ' (killed: still running after 15 s)' : ''} after ${r.ms} ms, stderr ${JSON.stringify(r.stderr)}: ${(e as Error).message.split('\n')[0]}`)
      }
    }
    expect(problems).toEqual([])
  }, 40_000)
})

describe('samsa start', () => {
  it('fails clearly on a busy port', async () => {
    const r = await runCli(['start', '--port', String(broker.port), '--data', await tempDir('samsa-busy-'), '--log-format', 'json'], { timeoutMs: 15_000 })
    expect(r.timedOut, 'a second broker on a busy port must exit, not run').toBe(false)
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(/EADDRINUSE|in use/i)
    expect(r.stderr).toContain(String(broker.port))
    // The first broker is unaffected.
    ok(await runCli(['topics', 'list', '--broker', B]))
  })

  it('rejects bad start flags with one line', async () => {
    failsClearly(await runCli(['start', '--port', '70000', '--data', await tempDir('samsa-bad-')]), /--port/)
  })

  it('stops on SIGTERM with exit 0 and a clean-shutdown log line, and keeps what it acknowledged', async () => {
    const dir = await tempDir('samsa-term-')
    const b = await startChildBroker(dir)
    try {
      ok(await runCli(['topics', 'create', 'keep', '--broker', b.url]))
      ok(await runCli(['produce', 'keep', '--broker', b.url], { input: 'one\ntwo\n' }))
      b.kill('SIGTERM')
      const exit = await Promise.race([b.exited, new Promise<null>((r) => setTimeout(() => r(null), 10_000).unref())])
      expect(exit, 'the broker exits within 10 s of SIGTERM').not.toBeNull()
      expect(exit).toEqual({ code: 0, signal: null })
      const msgs = b.logs.map((l) => l.msg)
      expect(msgs).toContain('shutting down: flushing and syncing logs')
      expect(msgs, `log lines: ${JSON.stringify(msgs)}`).toContain('broker stopped')
      expect(b.logs.find((l) => l.msg === 'shutting down: flushing and syncing logs')?.signal).toBe('SIGTERM')
    } finally {
      await b.stop()
    }
    const again = await startChildBroker(dir)
    try {
      const back = jsonLines<JsonRecord>(ok(await runCli(['consume', 'keep', '--from', 'earliest', '--max', '2', '--json', '--broker', again.url])).stdout)
      expect(back.map((x) => x.value)).toEqual(['one', 'two'])
    } finally {
      await again.stop()
    }
  })

  it('refuses to start on a data directory whose sealed segment is corrupt, naming the file, and cuts nothing', async () => {
    const dir = await tempDir('samsa-corrupt-')
    const b = await startChildBroker(dir, ['--segment-bytes', '1024'])
    try {
      ok(await runCli(['topics', 'create', 'c', '--broker', b.url]))
      for (let i = 0; i < 3; i++) ok(await runCli(['produce', 'c', '--broker', b.url], { input: `${Array.from({ length: 40 }, (_, j) => `value-${i}-${j}`).join('\n')}\n` }))
    } finally {
      expect((await b.stop()).code).toBe(0)
    }
    const files = await segmentFiles(dir, 'c', 0)
    expect(files.length).toBeGreaterThan(1)
    const victim = files[0]!
    const [first] = await batchesIn(victim)
    const bytes = new Uint8Array(await readFile(victim))
    bytes[first!.position + first!.totalBytes - 1]! ^= 0x20 // inside the last record: only the CRC can tell
    await writeFile(victim, bytes)
    const r = await runCli(['start', '--port', '0', '--data', dir, '--log-format', 'json', '--segment-bytes', '1024'], { timeoutMs: 20_000 })
    expect(r.timedOut, 'a broker with a corrupt sealed segment must not start serving').toBe(false)
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain(victim.split('/').slice(-4).join('/'))
    expect(r.stderr).toMatch(/corrupt/i)
    expect(r.stderr.trimEnd().split('\n').at(-1)).toMatch(/^samsa: corrupt log topics\/c\/0\/0+\.log at byte \d+: /)
    expect(new Uint8Array(await readFile(victim))).toEqual(bytes)
  })
})
