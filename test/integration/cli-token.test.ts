/**
 * `samsa token create` and the CLI against a broker with authentication, as processes: the token it prints is
 * accepted (SAMSA_TOKEN), a CLI command without one fails with one line naming the refusal.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker, type RunningBroker } from '../../packages/server/src/adapters/node/index.js'
import { recordingLogger } from '../support/broker-fixture.js'
import { runCli } from '../support/child-broker.js'

let dir: string
let broker: RunningBroker
let secretFile: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'samsa-cli-token-'))
  secretFile = join(dir, 'secret.txt')
  await writeFile(secretFile, 'cli-token-test-secret-of-32-bytes!!!\n')
  broker = await startBroker({ port: 0, dataDir: join(dir, 'data'), logger: recordingLogger([]), authentication: { keys: [{ alg: 'HS256', secret: new TextEncoder().encode('cli-token-test-secret-of-32-bytes!!!') }] } })
})

afterAll(async () => {
  await broker?.close()
  await rm(dir, { recursive: true, force: true })
})

describe('samsa token create', () => {
  it('prints a token the broker accepts; without one, a CLI command fails with one line', async () => {
    const created = await runCli(['token', 'create', '--secret-file', secretFile, '--sub', 'alice', '--read', 'chat.*', '--write', 'chat.*', '--create', 'chat.*', '--ttl', '1h'])
    expect(created.stderr).toBe('')
    expect(created.code).toBe(0)
    const token = created.stdout.trim()
    const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'))
    expect(payload).toMatchObject({ sub: 'alice', samsa: { read: ['chat.*'], write: ['chat.*'], create: ['chat.*'] } })
    expect(payload.exp - payload.iat).toBe(3_600)

    const ok = await runCli(['topics', 'create', 'chat.room', '--broker', broker.url], { env: { SAMSA_TOKEN: token } })
    expect(ok.stderr).toBe('')
    expect(ok.stdout).toContain('created topic chat.room')
    // Authorization is on with authentication: the token's grants decide (chat.* never reaches chatroom).
    const outside = await runCli(['topics', 'create', 'chatroom', '--broker', broker.url], { env: { SAMSA_TOKEN: token } })
    expect(outside.code).toBe(1)
    expect(outside.stderr).toMatch(/may not create topic "chatroom"/)

    const refused = await runCli(['topics', 'list', '--broker', broker.url], { env: { SAMSA_TOKEN: '' } })
    expect(refused.code).toBe(1)
    expect(refused.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^samsa: broker .* refused the token: authentication failed: no token/)])
  })

  it('refuses to sign without a key, with one line', async () => {
    const r = await runCli(['token', 'create', '--sub', 'alice'], { env: { SAMSA_AUTH_HS256_SECRET_FILE: '' } })
    expect(r.code).toBe(1)
    expect(r.stderr).toBe('samsa: give exactly one of --secret-file (HS256) and --private-key ALG:PATH\n')
  })
})
