/**
 * The `samsa` CLI end to end, run from the BUILT dist against a broker child process (`npm run build` first):
 * help for every command, topic administration, produce with --key/--partition, consume positions and limits,
 * the --json record shape, one-line errors with a non-zero exit (bounded in time, never a hang), a busy port,
 * and a clean SIGTERM shutdown.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createClient, partitionForKey } from '@samsa/client-browser'
import { exchanges, type SamsaError } from '@samsa/shared'
import { REPO_ROOT, SAMSA_BIN, killAll, runCli, spawnCli, startChildBroker, type ChildBroker, type CliResult, type JsonLogLine } from '../support/child-broker.js'
import { RawConnection } from '../support/raw-connection.js'
import { batchesIn, forgetRecoveryPoint, segmentFiles } from '../support/raw-log.js'
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
    [[], ['start', 'topics', 'groups', 'produce', 'consume']],
    [['start'], ['--port', '--host', '--data', '--fsync', '--fsync-interval-ms', '--retention-hours', '--retention-bytes', '--segment-bytes', '--log-format', '--log-level', '--advertised-url', '--max-connections', '--max-partitions-per-topic', 'SAMSA_PORT', 'SAMSA_DATA', 'SAMSA_MAX_CONNECTIONS']],
    [['topics'], ['create', 'list', 'describe', 'delete']],
    [['topics', 'create'], ['--partitions', '--replication-factor', '--min-insync-replicas', '--broker']],
    [['topics', 'list'], ['--broker', '--json']],
    [['topics', 'describe'], ['--broker', '--json']],
    [['topics', 'delete'], ['--broker']],
    [['groups'], ['list', 'describe', 'reset-offsets']],
    [['groups', 'reset-offsets'], ['--topic', '--to-earliest', '--to-latest', '--to-offset', '--to-datetime', '--partitions', '--execute', '--broker']],
    [['produce'], ['--key', '--partition', '--acks', '--json', '--broker', '--key-separator', '--headers', '--header-separator', 'SAMSA_BROKER']],
    [['cluster'], ['up', 'status']],
    [['cluster', 'up'], ['--nodes', '--base-port', '--data', '--fsync', '--log-level']],
    [['cluster', 'status'], ['--broker', '--json']],
    [['consume'], ['--from', '--partition', '--max', '--timeout-ms', '--json', '--broker', 'differs from the SDK', '--print-offset', '--print-key', '--print-headers', '--consumer-id', '--state-dir', 'SAMSA_STATE_DIR']],
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
    expect(text.trimEnd().split('\n')).toHaveLength(5) // the default configs add no line
    expect(described).toMatchObject({ configs: { 'cleanup.policy': 'delete', 'delete.retention.ms': '86400000' } })

    failsClearly(await runCli(['topics', 'create', 'orders', '--broker', B]), /TOPIC_ALREADY_EXISTS/)
    failsClearly(await runCli(['topics', 'create', 'replicated', '--replication-factor', '3', '--broker', B]), /^samsa: INVALID_REPLICATION_FACTOR: a single node holds one replica; replication factor 3 needs a cluster/)
    expect(ok(await runCli(['topics', 'create', 'one-replica', '--replication-factor', '1', '--broker', B])).stdout).toBe('created topic one-replica with 1 partition, replication factor 1\n')
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
    // Commander's own usage errors are one line too: non-zero, on stderr, naming the choices.
    const acks = await runCli(['produce', 'pc', '--acks', 'some', '--broker', B])
    expect(acks.code).not.toBe(0)
    expect(acks.stderr).toMatch(/--acks.*'some'.*all, leader, none/)
    failsClearly(acks, /--acks.*'some'.*all, leader, none/)
    failsClearly(await runCli(['frobnicate']), /unknown command 'frobnicate'/)
    const list = ok(await runCli(['topics', 'list', '--broker', B])).stdout
    expect(list).not.toMatch(/^zero\b/m)
  })

  it('an unreachable broker: every client command fails at once with the connection error, naming the broker, instead of hanging, succeeding or waiting out a timeout', async () => {
    // Port 1 on loopback: nothing listens there, the connection is refused at once, so the command fails on that
    // refusal (ECONNREFUSED) rather than on its connect timeout ("within N ms"). Each run is bounded by a 15 s deadline.
    const dead = 'ws://127.0.0.1:1'
    const [list, consume, produce] = await Promise.all([
      runCli(['topics', 'list', '--broker', dead], { timeoutMs: 15_000 }),
      runCli(['consume', 'pc', '--broker', dead, '--timeout-ms', '1000'], { timeoutMs: 15_000 }),
      runCli(['produce', 'pc', '--broker', dead], { input: 'x\n', timeoutMs: 15_000 }),
    ])
    const problems: string[] = []
    for (const [name, r] of [['topics list', list], ['consume --timeout-ms 1000', consume], ['produce', produce]] as const) {
      try {
        failsClearly(r, /^samsa: cannot connect to ws:\/\/127\.0\.0\.1:1: .*ECONNREFUSED.*; is `samsa start` running there\?$/)
        expect(r.stderr, 'failed on the refusal, not on a timeout').not.toMatch(/within \d+ ms/)
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

  it('refuses a single node\'s data directory given --controllers, with one line naming what to pass, and changes nothing', async () => {
    const dir = await tempDir('samsa-mode-')
    const b = await startChildBroker(dir)
    try {
      ok(await runCli(['topics', 'create', 'solo', '--broker', b.url]))
      ok(await runCli(['produce', 'solo', '--broker', b.url], { input: 'kept\n' }))
    } finally {
      expect((await b.stop()).code).toBe(0)
    }
    const files = async () => (await readdir(dir, { recursive: true })).sort()
    const before = await files()
    const [segment] = await segmentFiles(dir, 'solo', 0)
    const bytes = await readFile(segment!)
    const r = await runCli(['start', '--data', dir, '--port', '0', '--node-id', '1', '--controllers', '1@127.0.0.1:65000', '--log-format', 'json'], { timeoutMs: 20_000 })
    failsWith(r, `samsa: data directory ${dir} holds a single node's topics ("solo"); start it without --node-id and --controllers, or give the cluster node another --data directory`)
    expect(await files()).toEqual(before)
    expect((await readFile(segment!)).equals(bytes)).toBe(true)
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
    await forgetRecoveryPoint(victim) // damage no recovery point vouches for (a crash before the first one)
    const r = await runCli(['start', '--port', '0', '--data', dir, '--log-format', 'json', '--segment-bytes', '1024'], { timeoutMs: 20_000 })
    expect(r.timedOut, 'a broker with a corrupt sealed segment must not start serving').toBe(false)
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain(victim.split('/').slice(-4).join('/'))
    expect(r.stderr).toMatch(/corrupt/i)
    expect(r.stderr.trimEnd().split('\n').at(-1)).toMatch(/^samsa: corrupt log topics\/c\/0\/0+\.log at byte \d+: /)
    expect(new Uint8Array(await readFile(victim))).toEqual(bytes)
  })
})

/** Exactly one line on stderr, this one, and a non-zero exit. */
function failsWith(r: CliResult, line: string): void {
  failsClearly(r, /./)
  expect(r.stderr).toBe(`${line}\n`)
}

describe('flags from the environment (SAMSA_*)', () => {
  it('starts a broker from env vars alone, with the limits and the advertised URL they set', async () => {
    const dir = await tempDir('samsa-env-')
    const proc = spawn(process.execPath, [SAMSA_BIN, 'start'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: {
        ...process.env,
        SAMSA_PORT: '0',
        SAMSA_HOST: '127.0.0.1',
        SAMSA_DATA: dir,
        SAMSA_LOG_FORMAT: 'json',
        SAMSA_LOG_LEVEL: 'debug',
        SAMSA_MAX_CONNECTIONS: '2',
        SAMSA_MAX_PARTITIONS_PER_TOPIC: '4',
        SAMSA_ADVERTISED_URL: 'ws://samsa.example:9443',
      },
    })
    const logs: JsonLogLine[] = []
    let rest = ''
    proc.stderr!.on('data', (c: Buffer) => {
      const parts = (rest + c.toString('utf8')).split('\n')
      rest = parts.pop()!
      for (const l of parts) if (l.trim()) logs.push(l.startsWith('{') ? (JSON.parse(l) as JsonLogLine) : { level: -1, msg: l })
    })
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)))
    const raws: RawConnection[] = []
    try {
      const listening = await until(() => logs.find((l) => l.msg === 'broker listening') ?? (proc.exitCode !== null ? { exited: true } : null), {
        timeoutMs: 20_000,
        what: 'the env-configured broker to listen',
      })
      if ('exited' in listening) throw new Error(`the broker exited before listening: ${JSON.stringify(logs)}`)
      expect(listening.dataDir).toBe(resolve(dir))
      const port = Number(new URL(String(listening.url)).port)
      const url = `ws://127.0.0.1:${port}`
      // SAMSA_BROKER for the client; the broker's limit (4, from SAMSA_MAX_PARTITIONS_PER_TOPIC) is the only limit.
      const env = { SAMSA_BROKER: url }
      failsWith(await runCli(['topics', 'create', 'envt', '--partitions', '5'], { env }), 'samsa: INVALID_PARTITIONS: partitions must be an integer from 1 to 4, got 5')
      expect(ok(await runCli(['topics', 'create', 'envt', '--partitions', '4'], { env })).stdout).toBe('created topic envt with 4 partitions\n')
      // SAMSA_ADVERTISED_URL is what metadata tells clients.
      raws.push(await RawConnection.open(url))
      const meta = await raws[0]!.request(exchanges.metadata, { topics: null })
      expect(meta.ok && meta.value.brokers).toEqual([{ brokerId: 0, url: 'ws://samsa.example:9443' }])
      // SAMSA_MAX_CONNECTIONS=2: a second connection fits, a third is closed with 1013.
      raws.push(await RawConnection.open(url))
      const third = await RawConnection.open(url, { hello: false })
      raws.push(third)
      expect((await third.waitClosed()).code).toBe(1013)
    } finally {
      for (const r of raws) r.close()
      proc.kill('SIGTERM')
      const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 10_000).unref())])
      if (code === 'hung') proc.kill('SIGKILL')
      expect(code).toBe(0)
    }
  })
})

describe('clean errors for bad flag and env values, before a broker starts', () => {
  it('--log-level and other choices: the choices, from a flag and from env', async () => {
    const data = await tempDir('samsa-choice-')
    failsWith(await runCli(['start', '--log-level', 'verbose', '--data', data]), "samsa: option '--log-level <level>' argument 'verbose' is invalid. Allowed choices are debug, info, warn, error, silent.")
    failsWith(
      await runCli(['start', '--data', data], { env: { SAMSA_LOG_LEVEL: 'verbose' } }),
      "samsa: option '--log-level <level>' value 'verbose' from env 'SAMSA_LOG_LEVEL' is invalid. Allowed choices are debug, info, warn, error, silent.",
    )
    failsWith(
      await runCli(['start', '--data', data], { env: { SAMSA_FSYNC: 'sometimes' } }),
      "samsa: option '--fsync <mode>' value 'sometimes' from env 'SAMSA_FSYNC' is invalid. Allowed choices are always, interval, never.",
    )
  })

  it('a broker limit out of range: the schema\'s one message from the flag and from env', async () => {
    const data = await tempDir('samsa-limit-')
    const message = 'maxConnections must be an integer from 1 to 10000000, got 0'
    failsWith(await runCli(['start', '--max-connections', '0', '--data', data]), `samsa: option '--max-connections <count>' argument '0' is invalid. ${message}`)
    failsWith(await runCli(['start', '--data', data], { env: { SAMSA_MAX_CONNECTIONS: '0' } }), `samsa: option '--max-connections <count>' value '0' from env 'SAMSA_MAX_CONNECTIONS' is invalid. ${message}`)
    failsWith(await runCli(['start', '--data', data], { env: { SAMSA_PORT: '70000' } }), "samsa: option '--port <port>' value '70000' from env 'SAMSA_PORT' is invalid. It must be an integer from 0 to 65535.")
    failsWith(
      await runCli(['start', '--max-batch-bytes', '4000000', '--data', data]),
      'samsa: invalid broker settings: maxBatchBytes (4000000) must be smaller than maxFrameBytes (2097152): a produce frame carries the batch and its header',
    )
    failsWith(
      await runCli(['start', '--advertised-url', 'ws://samsa.example:9443/ws', '--data', data]),
      "samsa: option '--advertised-url <url>' argument 'ws://samsa.example:9443/ws' is invalid. advertisedUrl must be a ws:// or wss:// base URL without /ws, a query or a fragment, such as ws://broker.example.com:8080, got \"ws://samsa.example:9443/ws\" (clients add /ws themselves)",
    )
    expect(await readdir(data)).toEqual([])
  })

  it('topics create --partitions above the broker\'s limit: the broker\'s message, the same as REST\'s', async () => {
    const message = 'partitions must be an integer from 1 to 1000, got 5000'
    failsWith(await runCli(['topics', 'create', 'huge', '--partitions', '5000', '--broker', B]), `samsa: INVALID_PARTITIONS: ${message}`)
    const res = await fetch(`${broker.httpUrl}/v1/topics`, { method: 'POST', body: JSON.stringify({ name: 'huge', partitions: 5000 }), headers: { 'content-type': 'application/json' } })
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ error: { name: 'INVALID_PARTITIONS', message } })
    failsWith(await runCli(['topics', 'describe', 'huge', '--broker', B]), 'samsa: UNKNOWN_TOPIC_OR_PARTITION: topic "huge" does not exist')
  })
})

describe('topic configs from the CLI', () => {
  it('topics create --config makes a compacted topic (its configs in REST describe); a bad config is the broker\'s INVALID_CONFIG', async () => {
    const ok = await runCli(['topics', 'create', 'compacted', '--config', 'cleanup.policy=compact', '--config', 'delete.retention.ms=1000', '--broker', B])
    expect(ok.stderr).toBe('')
    expect(ok.code).toBe(0)
    const res = await fetch(`${broker.httpUrl}/v1/topics/compacted`)
    expect(((await res.json()) as { configs: unknown }).configs).toEqual({ 'cleanup.policy': 'compact', 'delete.retention.ms': '1000' })
    const described = await runCli(['topics', 'describe', 'compacted', '--broker', B])
    expect(described.stdout).toContain('configs\tcleanup.policy=compact delete.retention.ms=1000\n')
    failsWith(await runCli(['topics', 'create', 'bad', '--config', 'cleanup.policy=shred', '--broker', B]), 'samsa: INVALID_CONFIG: topic config "cleanup.policy" = "shred" is not valid: expected delete, compact or compact,delete')
  })
})

describe('one wording per error, in the CLI, REST and the SDK', () => {
  const sdk = () => createClient({ brokers: [B], clientId: 'wording', WebSocket: WebSocket as never })
  const rejection = async (p: Promise<unknown>): Promise<{ name: string; message: string }> => {
    const e = (await p.then(
      () => null,
      (err: unknown) => err,
    )) as SamsaError | null
    expect(e, 'expected a rejection').not.toBeNull()
    return { name: e!.errorName, message: e!.message }
  }

  beforeAll(async () => {
    ok(await runCli(['topics', 'create', 'words', '--partitions', '3', '--broker', B]))
  })

  it('a missing topic: topic "nope" does not exist', async () => {
    const line = 'samsa: UNKNOWN_TOPIC_OR_PARTITION: topic "nope" does not exist'
    failsWith(await runCli(['topics', 'describe', 'nope', '--broker', B]), line)
    failsWith(await runCli(['topics', 'delete', 'nope', '--broker', B]), line)
    failsWith(await runCli(['consume', 'nope', '--timeout-ms', '500', '--broker', B]), line)
    failsWith(await runCli(['produce', 'nope', '--broker', B], { input: 'x\n', timeoutMs: 45_000 }), line)
    const rest = await fetch(`${broker.httpUrl}/v1/topics/nope`)
    expect(rest.status).toBe(404)
    expect(await rest.json()).toMatchObject({ error: { name: 'UNKNOWN_TOPIC_OR_PARTITION', message: 'topic "nope" does not exist' } })
    const c = sdk()
    try {
      const want = { name: 'UNKNOWN_TOPIC_OR_PARTITION', message: 'topic "nope" does not exist' }
      expect(await rejection(c.admin.describeTopic('nope'))).toEqual(want)
      expect(await rejection(c.admin.deleteTopic('nope'))).toEqual(want)
      expect(await rejection(c.producer().send('nope', [{ value: 'x' }]))).toEqual(want)
      expect(await rejection(c.admin.listOffsets('nope', 0, 'latest'))).toEqual(want)
    } finally {
      await c.close()
    }
  })

  it('a missing partition: topic "words" has 3 partitions (0–2); there is no partition 9', async () => {
    const message = 'topic "words" has 3 partitions (0–2); there is no partition 9'
    failsWith(await runCli(['produce', 'words', '--partition', '9', '--broker', B], { input: 'x\n', timeoutMs: 45_000 }), `samsa: UNKNOWN_TOPIC_OR_PARTITION: ${message}`)
    failsWith(await runCli(['consume', 'words', '--partition', '9', '--timeout-ms', '500', '--broker', B]), `samsa: UNKNOWN_TOPIC_OR_PARTITION: ${message}`)
    const c = sdk()
    try {
      const want = { name: 'UNKNOWN_TOPIC_OR_PARTITION', message }
      expect(await rejection(c.producer().send('words', [{ value: 'x', partition: 9 }]))).toEqual(want)
      expect(await rejection(c.admin.listOffsets('words', 9, 'latest'))).toEqual(want)
    } finally {
      await c.close()
    }
  })

  it('OFFSET_OUT_OF_RANGE names the topic-partition and its range', async () => {
    const message = 'offset 999999 is outside the readable range [0, 0] of topic "words" partition 1'
    failsWith(await runCli(['consume', 'words', '--partition', '1', '--from', '999999', '--timeout-ms', '500', '--broker', B]), `samsa: OFFSET_OUT_OF_RANGE: ${message}`)
    const raw = await RawConnection.open(B)
    try {
      const r = await raw.request(exchanges.fetch, { topic: 'words', partition: 1, offset: 999999, maxBytes: 1024, minBytes: 1, maxWaitMs: 0 })
      expect(r.ok).toBe(false)
      expect(!r.ok && { name: r.error.errorName, message: r.error.message, details: r.error.details }).toEqual({
        name: 'OFFSET_OUT_OF_RANGE',
        message,
        details: { logStartOffset: 0, logEndOffset: 0 },
      })
    } finally {
      raw.close()
    }
  })

  it('an existing topic: topic "words" already exists', async () => {
    failsWith(await runCli(['topics', 'create', 'words', '--broker', B]), 'samsa: TOPIC_ALREADY_EXISTS: topic "words" already exists')
    const res = await fetch(`${broker.httpUrl}/v1/topics`, { method: 'POST', body: JSON.stringify({ name: 'words' }), headers: { 'content-type': 'application/json' } })
    expect(res.status).toBe(409)
    expect(await res.json()).toMatchObject({ error: { name: 'TOPIC_ALREADY_EXISTS', message: 'topic "words" already exists' } })
  })
})

describe('keys, headers, partitions and offsets in text lines', () => {
  beforeAll(async () => {
    ok(await runCli(['topics', 'create', 'lines', '--broker', B]))
    ok(await runCli(['topics', 'create', 'lines-copy', '--broker', B]))
  })

  const input = 'trace=abc,user=7\tk1:hello\n\tk2:v:with:colons\n'

  it('produce --headers --key-separator reads each line\'s headers and key; consume --json shows them', async () => {
    expect(ok(await runCli(['produce', 'lines', '--headers', '--key-separator', ':', '--broker', B], { input })).stderr).toBe('produced 2 records to lines\n')
    const back = jsonLines<JsonRecord>(ok(await runCli(['consume', 'lines', '--max', '2', '--json', '--broker', B])).stdout)
    expect(back.map((r) => [r.offset, r.headers, r.key, r.value])).toEqual([
      [0, { trace: 'abc', user: '7' }, 'k1', 'hello'],
      [1, {}, 'k2', 'v:with:colons'],
    ])
  })

  it('consume --print-offset --print-headers --print-key prints partition, offset, headers and key before the value', async () => {
    const r = ok(await runCli(['consume', 'lines', '--max', '2', '--print-offset', '--print-headers', '--print-key', '--key-separator', ':', '--broker', B]))
    expect(r.stdout).toBe('0\t0\ttrace=abc,user=7\tk1:hello\n0\t1\t\tk2:v:with:colons\n')
    expect(ok(await runCli(['consume', 'lines', '--max', '2', '--print-key', '--broker', B])).stdout).toBe('k1\thello\nk2\tv:with:colons\n')
    expect(ok(await runCli(['consume', 'lines', '--max', '1', '--print-offset', '--broker', B])).stdout).toBe('0\t0\thello\n')
  })

  it('what consume prints with --print-headers --print-key, produce reads back with --headers --key-separator', async () => {
    const printed = ok(await runCli(['consume', 'lines', '--max', '2', '--print-headers', '--print-key', '--key-separator', ':', '--broker', B])).stdout
    expect(printed).toBe(input)
    ok(await runCli(['produce', 'lines-copy', '--headers', '--key-separator', ':', '--broker', B], { input: printed }))
    const strip = (r: JsonRecord) => [r.offset, r.headers, r.key, r.value]
    const copy = jsonLines<JsonRecord>(ok(await runCli(['consume', 'lines-copy', '--max', '2', '--json', '--broker', B])).stdout)
    const original = jsonLines<JsonRecord>(ok(await runCli(['consume', 'lines', '--max', '2', '--json', '--broker', B])).stdout)
    expect(copy.map(strip)).toEqual(original.map(strip))
  })

  it('a line without the key separator stops produce with one line; the lines before it are kept, none after it', async () => {
    ok(await runCli(['topics', 'create', 'lines-bad', '--broker', B]))
    failsWith(
      await runCli(['produce', 'lines-bad', '--key-separator', '=', '--broker', B], { input: 'a=1\nno separator\nb=2\n' }),
      'samsa: line 2 of stdin is not in the --key-separator/--headers format: it has no key separator "="; 1 record before it was sent',
    )
    const all = jsonLines<JsonRecord>(ok(await runCli(['consume', 'lines-bad', '--timeout-ms', '800', '--json', '--broker', B])).stdout)
    expect(all.map((r) => [r.key, r.value])).toEqual([['a', '1']])
    failsClearly(await runCli(['produce', 'lines-bad', '--key', 'k', '--key-separator', '=', '--broker', B], { input: 'a=1\n' }), /--key.*--key-separator|--key-separator.*--key/)
  })
})

describe('consume --consumer-id', () => {
  it('resumes from its stored position across runs: no gap, no duplicate, per consumer id', async () => {
    const state = await tempDir('samsa-state-')
    ok(await runCli(['topics', 'create', 'resume', '--partitions', '3', '--broker', B]))
    ok(await runCli(['produce', 'resume', '--broker', B], { input: `${Array.from({ length: 30 }, (_, i) => `r${i}`).join('\n')}\n` }))
    const consume = async (id: string, extra: string[]) =>
      jsonLines<JsonRecord>(ok(await runCli(['consume', 'resume', '--consumer-id', id, '--state-dir', state, '--json', '--broker', B, ...extra])).stdout)

    const first = await consume('app', ['--max', '10'])
    expect(first).toHaveLength(10)
    const second = await consume('app', ['--timeout-ms', '1500'])
    expect(second).toHaveLength(20)
    const seen = [...first, ...second].map((r) => `${r.partition}/${r.offset}`)
    expect(new Set(seen).size).toBe(30)
    expect(new Set([...first, ...second].map((r) => r.value))).toEqual(new Set(Array.from({ length: 30 }, (_, i) => `r${i}`)))

    // Nothing new: nothing printed. New records: exactly those.
    expect(await consume('app', ['--timeout-ms', '800'])).toEqual([])
    ok(await runCli(['produce', 'resume', '--broker', B], { input: 'n1\nn2\nn3\n' }))
    expect((await consume('app', ['--timeout-ms', '1500'])).map((r) => r.value).sort()).toEqual(['n1', 'n2', 'n3'])

    // Another id has its own positions (none yet: --from, default earliest).
    expect(await consume('other', ['--timeout-ms', '1500'])).toHaveLength(33)

    // One file per broker + topic + id, written whole (no temp file left behind).
    const dir = join(state, 'consumers', encodeURIComponent(B), 'resume')
    expect((await readdir(dir)).sort()).toEqual(['app.json', 'other.json'])
    const stored = JSON.parse(await readFile(join(dir, 'app.json'), 'utf8')) as { positions: Record<string, number> }
    const described = JSON.parse(ok(await runCli(['topics', 'describe', 'resume', '--json', '--broker', B])).stdout) as { partitions: { partition: number; highWatermark: number }[] }
    expect(stored.positions).toEqual(Object.fromEntries(described.partitions.map((p) => [String(p.partition), p.highWatermark])))
  }, 60_000)
})
