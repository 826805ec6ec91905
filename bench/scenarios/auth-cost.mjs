// Scenario "auth": what authentication and authorization cost, measured in one run against two brokers that differ
// only in it. "off": `samsa start` as the README runs it (open, anonymous). "on": the same broker with
// --auth-hs256-secret-file (authorization on, default deny) and clients presenting a `samsa token create`-style
// token granting read, write and create on `bench-*`, so every hello verifies a JWT and every request is checked
// against the principal's grants. The produce rows reuse the produce scenario; this file adds the two set-ups and
// the connection set-up rate (SDK clients connecting, hello answered, and closing, a few at a time).
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { withBroker } from '../lib/broker-process.mjs'
import { closeClient, loadSdk, makeClient } from '../lib/sdk.mjs'
import { cpuMeter } from '../lib/cpu.mjs'
import { round, withTimeout } from '../lib/stats.mjs'

const { createToken } = await import('../../packages/server/dist/adapters/node/cli/token-command.js')
const { readSecretFile } = await import('../../packages/server/dist/adapters/node/authentication-files.js')

/** The topics the bench clients use (produce: bench-produce-<size>). */
const GRANTS = ['bench-*']

/**
 * Runs `fn([off, on])` where each case is { label, brokerArgs, token }; the secret file lives in a temp dir removed
 * afterwards. The token is valid for an hour: longer than any run, so no reauthentication happens while measuring.
 */
export async function withAuthCases(fn) {
  const dir = await mkdtemp(join(tmpdir(), 'samsa-bench-auth-'))
  try {
    const secretFile = join(dir, 'secret.txt')
    await writeFile(secretFile, randomBytes(32).toString('base64') + '\n', { mode: 0o600 })
    const key = await readSecretFile(secretFile, 'HS256 secret file')
    const token = await createToken({ sub: 'bench', ttlSeconds: 3_600, read: GRANTS, write: GRANTS, create: GRANTS }, { alg: 'HS256', key }, Date.now())
    return await fn([
      { label: 'off', brokerArgs: [], token: undefined },
      { label: 'on', brokerArgs: ['--auth-hs256-secret-file', secretFile], token },
    ])
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/**
 * Connection set-up rate: `concurrency` loops, each creating an SDK client, awaiting connect() (upgrade, hello and its
 * answer: with a token, the JWT verified) and closing it, for durationMs. opts: { auth: a case of withAuthCases,
 * fsync, durationMs, concurrency, brokerNodeArgs, brokerCpu }.
 */
export async function connectionRate(opts) {
  const sdk = await loadSdk()
  return withBroker({ fsync: opts.fsync, nodeArgs: opts.brokerNodeArgs, pinCpu: opts.brokerCpu, extraArgs: opts.auth.brokerArgs }, async ({ wsUrl, child, lines }) => {
    const once = async () => {
      const client = makeClient(sdk, { url: wsUrl, clientId: 'bench-connect', token: opts.auth.token })
      try {
        await withTimeout(client.connect(), 10_000, 'connect')
      } finally {
        await closeClient(client)
      }
    }
    try {
      for (let i = 0; i < 20; i++) await once() // warm-up
      const meter = cpuMeter(child.pid)
      let connections = 0
      const start = performance.now()
      const worker = async () => {
        while (performance.now() - start < opts.durationMs) {
          await once()
          connections++
        }
      }
      await Promise.all(Array.from({ length: opts.concurrency }, worker))
      const elapsedMs = performance.now() - start
      const cpu = meter.stop()
      return {
        scenario: 'connect',
        auth: opts.auth.label,
        concurrency: opts.concurrency,
        connections,
        elapsedMs: round(elapsedMs, 1),
        connectionsPerSec: round((connections * 1000) / elapsedMs, 0),
        ...cpu,
        serverCpuUsPerConnection: cpu.serverCpuMs === null ? null : round((cpu.serverCpuMs * 1000) / connections, 1),
      }
    } catch (err) {
      err.message += `\nbroker output (last lines):\n${lines.slice(-10).join('\n')}`
      throw err
    }
  })
}
