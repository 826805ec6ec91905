import { CloseCodes, decodeResponseFrame, encodeRequestFrame, exchanges, readFrameHeader, type Exchange } from '@samsa/shared'
import { SignJWT, generateKeyPair, type JWTPayload } from 'jose'
import { describe, expect, it } from 'vitest'
import { Broker } from '../broker/broker.js'
import { brokerConfig } from '../broker/broker-config.js'
import type { Logger } from '../clock.js'
import { MemoryLogStorage } from '../log/memory-log-storage.js'
import { ManualClock } from '../log/testing/manual-clock.js'
import { noopMetrics, type BrokerMetrics } from '../observability/broker-metrics.js'
import { ClusterSecretAuthenticator, signPeerToken } from '../security/authentication/peer-token.js'
import { TokenVerifier } from '../security/authentication/token-verifier.js'
import { Session, type PeerGate } from './session.js'
import { RecordingSocket } from './testing/session-harness.js'

const secret = new TextEncoder().encode('session-test-secret-at-least-32-bytes')
const clusterSecret = new TextEncoder().encode('cluster-test-secret-at-least-32-byte')

async function setup(opts: { allowAnonymous?: boolean; authEnabled?: boolean; peers?: boolean; jwksUrl?: string } = {}) {
  const clock = new ManualClock()
  const refusals: [string, string][] = []
  const metrics: BrokerMetrics = { ...noopMetrics, authenticationRefused: (kind, reason) => void refusals.push([kind, reason]) }
  const lines: Record<string, unknown>[] = []
  const logger: Logger = { debug() {}, info() {}, warn: (o: object) => void lines.push({ ...o }), error() {}, child: () => logger }
  const authEnabled = opts.authEnabled ?? true
  const authenticator = await TokenVerifier.create({ keys: [{ alg: 'HS256', secret }], issuer: 'test', nowMs: () => clock.nowMs(), ...(opts.jwksUrl ? { jwksUrl: opts.jwksUrl } : {}) })
  const broker = await Broker.start(brokerConfig({ brokerId: 1, clusterId: 'c1', authEnabled, allowAnonymous: opts.allowAnonymous ?? false }), {
    storage: new MemoryLogStorage(), clock, logger, metrics, authenticator,
    ...(opts.peers ? { peerAuthenticator: new ClusterSecretAuthenticator(clusterSecret, 'c1', () => clock.nowMs()) } : {}),
  })
  const gate: PeerGate = { isPeer: (id) => id === 2, onRaftMessages() {} }
  const socket = new RecordingSocket()
  const session = new Session(broker, socket, gate)
  let correlationId = 1
  const send = <Req>(exchange: Exchange<Req, unknown>, req: Req) => {
    const id = correlationId++
    session.onFrame(encodeRequestFrame(exchange, 1, id, req))
    return id
  }
  const answer = async (id: number) => {
    // Verification runs on WebCrypto (a real async step): wait for it, bounded.
    const deadline = Date.now() + 5_000
    while (Date.now() < deadline) {
      const frame = socket.sent.find((f) => readFrameHeader(f).correlationId === id)
      if (frame) return decodeResponseFrame(frame)
      await new Promise((r) => setTimeout(r, 2))
    }
    throw new Error(`no answer to ${id}`)
  }
  const token = (claims: JWTPayload = {}) =>
    new SignJWT({ sub: 'alice', iss: 'test', exp: Math.floor(clock.nowMs() / 1000) + 60, ...claims }).setProtectedHeader({ alg: 'HS256' }).sign(secret)
  const hello = (extra: { token?: string; peer?: { nodeId: number; clusterId: string } } = {}) => answer(send(exchanges.hello, { clientId: 't', minVersion: 1, maxVersion: 1, ...extra }))
  return { clock, broker, socket, session, send, answer, token, hello, refusals, lines }
}

describe('session authentication', () => {
  it('auth on: a hello without a token is refused (SASL_AUTHENTICATION_FAILED, close 4401), counted and audited', async () => {
    const t = await setup()
    expect((await t.hello()).error?.errorName).toBe('SASL_AUTHENTICATION_FAILED')
    expect(t.socket.closed?.code).toBe(CloseCodes.UNAUTHORIZED)
    expect(t.refusals).toEqual([['user', 'missing']])
    expect(t.lines).toContainEqual(expect.objectContaining({ audit: true, action: 'authenticate', outcome: 'refused', reason: 'missing' }))
  })

  it('auth on: a hello with a bad token is refused the same way; the token never reaches the log', async () => {
    const t = await setup()
    const bad = (await t.token()).slice(0, -4) + 'AAAA'
    expect((await t.hello({ token: bad })).error?.errorName).toBe('SASL_AUTHENTICATION_FAILED')
    expect(t.socket.closed?.code).toBe(CloseCodes.UNAUTHORIZED)
    expect(t.refusals).toEqual([['user', 'bad-signature']])
    expect(JSON.stringify(t.lines)).not.toContain(bad)
  })

  it('a valid token makes the principal; frames sent right behind the hello wait for it', async () => {
    const t = await setup()
    const helloId = t.send(exchanges.hello, { clientId: 't', minVersion: 1, maxVersion: 1, token: await t.token() })
    const pingId = t.send(exchanges.ping, {})
    expect((await t.answer(helloId)).error).toBeNull()
    expect((await t.answer(pingId)).error).toBeNull()
    expect(t.session.principal).toMatchObject({ kind: 'user', name: 'alice' })
  })

  it('anonymous only with allowAnonymous, and only without a token', async () => {
    const t = await setup({ allowAnonymous: true })
    expect((await t.hello()).error).toBeNull()
    expect(t.session.principal.kind).toBe('anonymous')
    const u = await setup({ allowAnonymous: true })
    expect((await u.hello({ token: 'junk' })).error?.errorName).toBe('SASL_AUTHENTICATION_FAILED')
  })

  it('auth off: any token is ignored and the client is anonymous', async () => {
    const t = await setup({ authEnabled: false })
    expect((await t.hello({ token: 'junk' })).error).toBeNull()
    expect(t.session.principal.kind).toBe('anonymous')
  })

  it('closes with TOKEN_EXPIRED at the token expiry', async () => {
    const t = await setup()
    expect((await t.hello({ token: await t.token() })).error).toBeNull()
    t.clock.advance(59_000)
    expect(t.socket.closed).toBeNull()
    t.clock.advance(1_000)
    expect(t.socket.closed?.code).toBe(CloseCodes.TOKEN_EXPIRED)
  })

  it('reauthenticate moves the expiry to the new token', async () => {
    const t = await setup()
    await t.hello({ token: await t.token() })
    t.clock.advance(50_000)
    const fresh = await t.token()
    const r = await t.answer(t.send(exchanges.reauthenticate, { token: fresh }))
    expect(r.error).toBeNull()
    expect(exchanges.reauthenticate.decodeResponse(r.body!).expiresAtMs).toBe(Math.floor(t.clock.nowMs() / 1000 + 60) * 1000)
    t.clock.advance(30_000)
    expect(t.socket.closed).toBeNull()
    t.clock.advance(30_000)
    expect(t.socket.closed?.code).toBe(CloseCodes.TOKEN_EXPIRED)
  })

  it('a reauthenticate for another subject is refused; the connection stays, and still expires at its own token', async () => {
    const t = await setup()
    await t.hello({ token: await t.token() })
    const r = await t.answer(t.send(exchanges.reauthenticate, { token: await t.token({ sub: 'mallory', exp: Math.floor(t.clock.nowMs() / 1000) + 3600 }) }))
    expect(r.error?.errorName).toBe('SASL_AUTHENTICATION_FAILED')
    expect(t.socket.closed).toBeNull()
    expect(t.session.principal.name).toBe('alice')
    expect(t.refusals).toEqual([['user', 'subject-changed']])
    expect(t.lines).toContainEqual(expect.objectContaining({ action: 'reauthenticate', outcome: 'refused', reason: 'subject-changed' }))
    t.clock.advance(60_000)
    expect(t.socket.closed?.code).toBe(CloseCodes.TOKEN_EXPIRED)
  })

  it('a second hello cannot change the credential', async () => {
    const t = await setup()
    await t.hello({ token: await t.token() })
    expect((await t.hello({ token: await t.token({ sub: 'mallory' }) })).error?.errorName).toBe('INVALID_REQUEST')
    expect(t.session.principal.name).toBe('alice')
  })

  it('a client cannot become a peer by a second hello without a peer token', async () => {
    const t = await setup({ peers: true })
    await t.hello({ token: await t.token() })
    expect((await t.hello({ peer: { nodeId: 2, clusterId: 'c1' } })).error?.errorName).toBe('SASL_AUTHENTICATION_FAILED')
    expect(t.session.peerNodeId).toBe(0)
    expect(t.socket.closed?.code).toBe(CloseCodes.UNAUTHORIZED)
  })

  it('a hello the broker cannot check (its JWKS unavailable) closes with TRY_AGAIN_LATER, so the client retries', async () => {
    const t = await setup({ jwksUrl: 'http://127.0.0.1:1/jwks.json' })
    const rsa = await generateKeyPair('RS256')
    const token = await new SignJWT({ sub: 'alice', exp: Math.floor(t.clock.nowMs() / 1000) + 60 }).setProtectedHeader({ alg: 'RS256', kid: 'k' }).sign(rsa.privateKey)
    t.send(exchanges.hello, { clientId: 't', minVersion: 1, maxVersion: 1, token })
    const deadline = Date.now() + 5_000
    while (!t.socket.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5))
    expect(t.socket.closed?.code).toBe(CloseCodes.TRY_AGAIN_LATER)
    expect(t.refusals).toEqual([['user', 'keys-unavailable']])
  })

  it('with a cluster secret, a peer hello needs a peer token for its node id', async () => {
    const bare = await setup({ peers: true })
    expect((await bare.hello({ peer: { nodeId: 2, clusterId: 'c1' } })).error?.errorName).toBe('SASL_AUTHENTICATION_FAILED')
    expect(bare.socket.closed?.code).toBe(CloseCodes.UNAUTHORIZED)
    expect(bare.session.peerNodeId).toBe(0)
    expect(bare.refusals).toEqual([['peer', 'missing']])
    expect(bare.lines).toContainEqual(expect.objectContaining({ action: 'peer.authenticate', outcome: 'refused', resource: 'node:2' }))
    const good = await setup({ peers: true })
    const token = await signPeerToken(clusterSecret, 2, 'c1', good.clock.nowMs())
    expect((await good.hello({ token, peer: { nodeId: 2, clusterId: 'c1' } })).error).toBeNull()
    expect(good.session.peerNodeId).toBe(2)
    expect(good.session.principal).toMatchObject({ kind: 'peer', name: 'node:2' })
  })
})
