/**
 * Authentication against a real broker over real WebSockets: every bad-token row of the security issue is refused
 * with SASL_AUTHENTICATION_FAILED and close 4401, the broker keeps serving an authenticated client, nothing is
 * appended, a metric counts the refusal by reason, and an audit line records it.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SignJWT, exportSPKI, generateKeyPair, type CryptoKey, type JWTPayload } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CloseCodes, MAX_PROTOCOL_VERSION, MIN_PROTOCOL_VERSION, encodeRecordBatch, encodeRequestFrame, exchanges, type HelloRequest } from '../../packages/shared/src/index.js'
import { startBroker, type RunningBroker } from '../../packages/server/src/adapters/node/index.js'
import { recordingLogger, type LogLine } from '../support/broker-fixture.js'
import { RawConnection } from '../support/raw-connection.js'

const secret = new TextEncoder().encode('integration-secret-of-at-least-32-b')
const ISSUER = 'https://idp.test'
const AUDIENCE = 'samsa-it'
let rsa: { publicKey: CryptoKey; privateKey: CryptoKey }
let rsaPem: string
let broker: RunningBroker
let dir: string
const logs: LogLine[] = []
let alice: RawConnection

const nowS = () => Math.floor(Date.now() / 1000)
// alice may do everything (authorization is tested elsewhere): with authentication on, authorization is on too.
const claims = (extra: JWTPayload = {}): JWTPayload => ({ sub: 'alice', iss: ISSUER, aud: AUDIENCE, iat: nowS(), exp: nowS() + 600, samsa: { admin: true }, ...extra })
const hs = (payload: JWTPayload = claims(), key: Uint8Array = secret) => new SignJWT(payload).setProtectedHeader({ alg: 'HS256' }).sign(key)
const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')
const batch = encodeRecordBatch({ records: [{ key: null, value: new TextEncoder().encode('hi'), headers: [], timestamp: 1_700_000_000_000 }] })

async function refusedCount(reason: string): Promise<number> {
  const text = await (await fetch(`${broker.httpUrl}/metrics`)).text()
  const m = new RegExp(`^samsa_authentication_refused_total\\{kind="user",reason="${reason}"\\} (\\d+)`, 'm').exec(text)
  return m ? Number(m[1]) : 0
}

async function highWatermark(): Promise<number> {
  const r = await alice.request(exchanges.metadata, { topics: ['chat'] })
  if (!r.ok) throw r.error
  return r.value.topics[0]!.partitions[0]!.highWatermark
}

/** Opens a connection, says hello with `hello` extras and a produce right behind it, and returns what the broker did. */
async function attempt(extra: Partial<HelloRequest>, query = '') {
  const c = await RawConnection.open(broker.url, { hello: false, query })
  const hello = c.request(exchanges.hello, { clientId: 'intruder', minVersion: MIN_PROTOCOL_VERSION, maxVersion: MAX_PROTOCOL_VERSION, ...extra })
  // Pipelined behind the hello: must never be appended.
  c.ws.send(encodeRequestFrame(exchanges.produce, 1, c.nextCorrelationId(), { topic: 'chat', partition: 0, acks: -1, timeoutMs: 1000, batch }))
  const answer = await hello
  const closed = await c.waitClosed()
  return { answer, closed }
}

beforeAll(async () => {
  rsa = await generateKeyPair('RS256', { extractable: true })
  rsaPem = await exportSPKI(rsa.publicKey)
  dir = await mkdtemp(join(tmpdir(), 'samsa-authn-'))
  broker = await startBroker({
    port: 0, dataDir: dir, logger: recordingLogger(logs),
    authentication: { keys: [{ alg: 'HS256', secret }, { alg: 'RS256', pem: rsaPem, kid: 'k1' }], issuer: ISSUER, audience: AUDIENCE },
    config: { helloTimeoutMs: 500 },
  })
  alice = await RawConnection.open(broker.url, { token: await hs() })
  const created = await alice.request(exchanges.createTopic, { name: 'chat', partitions: 1 })
  if (!created.ok) throw created.error
  const produced = await alice.request(exchanges.produce, { topic: 'chat', partition: 0, acks: -1, timeoutMs: 5000, batch })
  if (!produced.ok) throw produced.error
})

afterAll(async () => {
  alice?.close()
  await broker?.close()
  await rm(dir, { recursive: true, force: true })
})

describe('a broker with authentication', () => {
  const rows: [string, () => Promise<Partial<HelloRequest>>, string, string?][] = [
    ['missing', async () => ({}), 'missing'],
    ['expired', async () => ({ token: await hs(claims({ exp: nowS() - 120 })) }), 'expired'],
    ['not yet valid', async () => ({ token: await hs(claims({ nbf: nowS() + 600 })) }), 'not-yet-valid'],
    ['wrong issuer', async () => ({ token: await hs(claims({ iss: 'https://evil.test' })) }), 'wrong-issuer'],
    ['wrong audience', async () => ({ token: await hs(claims({ aud: 'elsewhere' })) }), 'wrong-audience'],
    ['bad signature', async () => ({ token: await hs(claims(), new TextEncoder().encode('not-the-secret-but-32-bytes-long!!')) }), 'bad-signature'],
    ['alg none', async () => ({ token: `${b64({ alg: 'none' })}.${b64(claims())}.` }), 'algorithm-not-allowed'],
    // The PEM is never an HMAC secret: the forged HS256 token is checked against the HS256 secret only, and fails.
    ['RS256 public key used as an HS256 secret', async () => ({ token: await hs(claims(), new TextEncoder().encode(rsaPem)) }), 'bad-signature'],
    ['unknown kid', async () => ({ token: await new SignJWT(claims()).setProtectedHeader({ alg: 'RS256', kid: 'k9' }).sign(rsa.privateKey) }), 'unknown-key'],
    ['a token in the URL query (ignored)', async () => ({}), 'missing', `?token=${'x'}`],
  ]

  it.each(rows)('refuses %s: SASL_AUTHENTICATION_FAILED, close 4401, nothing appended, counted, audited; others still served', async (_row, extra, reason, query) => {
    const hw = await highWatermark()
    const before = await refusedCount(reason)
    const auditsBefore = logs.filter((l) => l.fields['audit'] === true && l.fields['reason'] === reason).length
    const { answer, closed } = await attempt(await extra(), query === undefined ? '' : query.replace('x', await hs()))
    expect(answer.ok).toBe(false)
    if (!answer.ok) expect(answer.error.errorName).toBe('SASL_AUTHENTICATION_FAILED')
    expect(closed.code).toBe(CloseCodes.UNAUTHORIZED)
    expect(await refusedCount(reason)).toBe(before + 1)
    expect(logs.filter((l) => l.fields['audit'] === true && l.fields['reason'] === reason && l.fields['action'] === 'authenticate').length).toBe(auditsBefore + 1)
    expect(await highWatermark()).toBe(hw)
    expect((await alice.request(exchanges.ping, {})).ok).toBe(true)
  })

  it('closes a connection that never says hello at the hello deadline (4009), counted as no-hello', async () => {
    const before = await refusedCount('no-hello')
    const c = await RawConnection.open(broker.url, { hello: false })
    expect((await c.waitClosed()).code).toBe(CloseCodes.HELLO_TIMEOUT)
    expect(await refusedCount('no-hello')).toBe(before + 1)
    expect((await alice.request(exchanges.ping, {})).ok).toBe(true)
  })

  it('closes a connection at its token expiry with TOKEN_EXPIRED (4001); reauthenticate answers the new expiry', async () => {
    const exp = nowS() + 2
    const c = await RawConnection.open(broker.url, { token: await hs(claims({ exp })) })
    const later = nowS() + 3600
    const r = await c.request(exchanges.reauthenticate, { token: await hs(claims({ sub: 'mallory', exp: later })) })
    expect(!r.ok && r.error.errorName).toBe('SASL_AUTHENTICATION_FAILED')
    expect((await c.waitClosed(10_000)).code).toBe(CloseCodes.TOKEN_EXPIRED)
    const d = await RawConnection.open(broker.url, { token: await hs(claims({ exp: nowS() + 60 })) })
    const fresh = await d.request(exchanges.reauthenticate, { token: await hs(claims({ exp: later })) })
    expect(fresh.ok && fresh.value.expiresAtMs).toBe(later * 1000)
    d.close()
    expect(await highWatermark()).toBe(1)
  })
})

describe('an open broker', () => {
  it('starts open on loopback and says so; refuses a non-loopback host unless allowAnonymous, in one line', async () => {
    const openDir = await mkdtemp(join(tmpdir(), 'samsa-open-'))
    try {
      const lines: LogLine[] = []
      const open = await startBroker({ port: 0, dataDir: openDir, logger: recordingLogger(lines) })
      try {
        expect(lines.some((l) => l.msg?.startsWith('the broker is open (anonymous)') && l.fields['authentication'] === 'off')).toBe(true)
        const c = await RawConnection.open(open.url)
        expect((await c.request(exchanges.createTopic, { name: 'open', partitions: 1 })).ok).toBe(true)
        c.close()
      } finally {
        await open.close()
      }
      await expect(startBroker({ host: '0.0.0.0', port: 0, dataDir: openDir, logger: recordingLogger([]) })).rejects.toThrow(
        /^refusing to serve 0\.0\.0\.0 with no authentication: .*--allow-anonymous/,
      )
      const allowed = await startBroker({ host: '0.0.0.0', port: 0, dataDir: openDir, logger: recordingLogger(lines), config: { allowAnonymous: true } })
      expect(lines.some((l) => l.level === 'warn' && l.msg?.startsWith('the broker is open (anonymous)'))).toBe(true)
      await allowed.close()
    } finally {
      await rm(openDir, { recursive: true, force: true })
    }
  })
})
