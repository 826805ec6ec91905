/**
 * Seeded frame fuzzing of a broker with authentication (an HS256 key; authorization on with it): a principal with
 * limited grants, authenticated by its token in hello, sends generated frames (SAMSA_FUZZ_FRAMES, default 5,000 here;
 * `npm run fuzz` sends 100,000; SAMSA_FUZZ_SEED replays a run), hello and reauthenticate frames with garbage,
 * expired, foreign-signed and another principal's tokens among them, and opens fresh connections whose hello carries
 * a token the broker must refuse. Afterwards: no frame got an unexpected server error or an undecodable answer, no
 * error line was logged, every refused-token hello was answered SASL_AUTHENTICATION_FAILED and closed with 4401
 * without its pipelined produce being answered, the topics it may not write kept their end offsets, the one it may
 * write holds no batch under another principal's producer id, topics changed only where it may create and delete,
 * and the broker still serves.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { CloseCodes, encodeRecordBatch, exchanges, scanBatches } from '@samsa/shared'
import { startBroker, type RunningBroker } from '../../packages/server/src/adapters/node/index.js'
import { isProducerIdOf, producerIdBase } from '../../packages/server/src/security/authorization/producer-id-binding.js'
import type { Principal } from '../../packages/server/src/security/principal.js'
import { runFrameFuzz } from '../support/frame-fuzz.js'
import { RawConnection } from '../support/raw-connection.js'
import { TEST_AUTHENTICATION, signedToken, type Grants } from '../support/test-tokens.js'

const FRAMES = Number(process.env.SAMSA_FUZZ_FRAMES ?? 5_000)
const SEED = Number(process.env.SAMSA_FUZZ_SEED ?? 20261130)

const grants = {
  admin: { admin: true },
  victim: { read: ['*'], write: ['fz.w', 'secret'] },
  fuzzer: { read: ['fz.*'], write: ['fz.w'], create: ['fz.tmp.*'], delete: ['fz.tmp.*'] },
} satisfies Record<string, Grants>
const fuzzer: Principal = { kind: 'user', name: 'fuzzer', claims: { samsa: grants.fuzzer } }
const tokenOf = (who: keyof typeof grants) => signedToken(who, grants[who])
const TOPICS = ['fz.w', 'fz.r', 'secret']

const nowS = () => Math.floor(Date.now() / 1000)
const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')
/** Tokens a first hello must be refused with: garbage, expired, not yet valid, signed with another secret, alg none, tampered claims. */
async function refusedTokens(fuzzerToken: string): Promise<string[]> {
  const [header, , signature] = fuzzerToken.split('.')
  return [
    'garbage', '', 'a.b.c', 'eyJhbGciOiJIUzI1NiJ9..', 'x'.repeat(5_000),
    await signedToken('fuzzer', grants.fuzzer, { claims: { exp: nowS() - 3_600 } }),
    await signedToken('admin', grants.admin, { claims: { nbf: nowS() + 3_600 } }),
    await signedToken('admin', grants.admin, { secret: new TextEncoder().encode('a-foreign-secret-also-32-bytes-long!!') }),
    `${b64({ alg: 'none' })}.${b64({ sub: 'admin', exp: nowS() + 3_600, samsa: grants.admin })}.`,
    `${header}.${b64({ sub: 'fuzzer', exp: nowS() + 3_600, samsa: grants.admin })}.${signature}`,
  ]
}

/** Levels of the broker's log lines (audit lines included), without keeping them. */
function countingLogger() {
  const levels = { debug: 0, info: 0, warn: 0, error: 0 }
  const errors: string[] = []
  const logger = {
    debug: () => void levels.debug++,
    info: () => void levels.info++,
    warn: () => void levels.warn++,
    error: (fields: object, msg?: string) => {
      levels.error++
      if (errors.length < 5) errors.push(`${msg}: ${JSON.stringify(fields).slice(0, 300)}`)
    },
    child: () => logger,
  }
  return { logger, levels, errors }
}

async function ok<T>(p: Promise<{ ok: true; value: T } | { ok: false; error: Error }>): Promise<T> {
  const r = await p
  if (!r.ok) throw r.error
  return r.value
}

const batchOf = (producerId: number, baseSequence: number) =>
  encodeRecordBatch({ producerId, producerEpoch: 0, baseSequence, records: [{ key: null, value: new TextEncoder().encode('v'), headers: [], timestamp: 1_700_000_000_000 }] })

describe('frame fuzzing against a broker with authorization on', () => {
  let running: RunningBroker | undefined
  let dir = ''
  afterAll(async () => {
    await running?.close()
    // A topic deletion the fuzzer asked for just before close may still be removing its files: retry on ENOTEMPTY.
    if (dir) await rm(dir, { recursive: true, force: true, maxRetries: 10 })
  })

  it(`${FRAMES} generated frames (seed ${SEED}): no crash, no unexpected append, the broker still serving`, async () => {
    dir = await mkdtemp(join(tmpdir(), 'samsa-authz-fuzz-'))
    const log = countingLogger()
    running = await startBroker({ port: 0, dataDir: dir, logger: log.logger, authentication: TEST_AUTHENTICATION, config: { requestTimeoutMs: 1_000, log: { fsync: 'never' } } })
    const admin = await RawConnection.open(running.url, { token: await tokenOf('admin') })
    for (const name of TOPICS) await ok(admin.request(exchanges.createTopic, { name, partitions: 2 }))
    const victimToken = await tokenOf('victim')
    const victim = await RawConnection.open(running.url, { token: victimToken })
    const victimId = (await ok(victim.request(exchanges.initProducerId, { producerId: -1, producerEpoch: -1 }))).producerId
    for (const topic of ['fz.w', 'secret']) await ok(victim.request(exchanges.produce, { topic, partition: 0, acks: -1, timeoutMs: 5_000, batch: batchOf(victimId, 0) }))
    const fuzzerToken = await tokenOf('fuzzer')
    const refused = await refusedTokens(fuzzerToken)
    const fuzzerConn = await RawConnection.open(running.url, { token: fuzzerToken })
    const ownId = (await ok(fuzzerConn.request(exchanges.initProducerId, { producerId: -1, producerEpoch: -1 }))).producerId
    fuzzerConn.close()
    const broker = running.broker
    const ends = () => new Map([...broker.partitionOffsets()].map((o) => [`${o.topic}/${o.partition}`, o.logEndOffset]))
    const before = ends()

    const result = await runFrameFuzz({
      url: running.url,
      seed: SEED,
      frames: FRAMES,
      token: fuzzerToken,
      targets: {
        topics: ['fz.w', 'fz.r', 'secret', 'fz.tmp.a', 'fz.tmp.b', 'fz.', 'fz', 'fzw', 'fz.w.x', 'secret2', 'nope'],
        producerIds: [-1, victimId, producerIdBase(victimId), ownId, producerIdBase(ownId), victimId + 1],
        tokens: [fuzzerToken, victimToken, ...refused],
        refusedTokens: refused,
        guardedTopics: ['secret', 'fz.r'],
      },
    })

    expect(result.framesSent).toBe(FRAMES)
    expect(result.answers.get('UNKNOWN_SERVER_ERROR') ?? 0).toBe(0)
    expect(result.answers.get('UNDECODABLE') ?? 0).toBe(0)
    expect(log.errors).toEqual([])
    // Every hello with a refused token: SASL_AUTHENTICATION_FAILED, closed with 4401, the produce behind it never answered.
    expect([...result.hostileHellos.keys()].filter((k) => k !== `SASL_AUTHENTICATION_FAILED/${CloseCodes.UNAUTHORIZED}`)).toEqual([])
    // The run reached the authorization checks, not only the frame parser.
    if (FRAMES >= 2_000) {
      expect(result.answers.get('TOPIC_AUTHORIZATION_FAILED') ?? 0).toBeGreaterThan(0)
      expect(result.answers.get('INVALID_PRODUCER_ID_MAPPING') ?? 0).toBeGreaterThan(0)
      expect(result.answers.get('NONE') ?? 0).toBeGreaterThan(0)
      // Bad tokens in reauthenticate frames were refused on the live connection; fresh connections were refused at hello.
      expect(result.answers.get('SASL_AUTHENTICATION_FAILED') ?? 0).toBeGreaterThan(0)
      expect(result.hostileHellos.get(`SASL_AUTHENTICATION_FAILED/${CloseCodes.UNAUTHORIZED}`) ?? 0).toBeGreaterThan(0)
    }

    // Nothing appended where the fuzzer may not write; topics changed only where it may create and delete.
    const after = ends()
    for (const [key, end] of before) if (!key.startsWith('fz.w/')) expect([key, after.get(key)]).toEqual([key, end])
    const names = broker.listTopics().map((t) => t.name)
    for (const name of TOPICS) expect(names).toContain(name)
    expect(names.filter((n) => !TOPICS.includes(n) && !n.startsWith('fz.tmp.'))).toEqual([])
    // Every batch in fz.w is the victim's own (its first) or carries no producer id (any negative one: not idempotent, as Kafka) or the fuzzer's own.
    for (const partition of [0, 1]) {
      let offset = 0
      for (;;) {
        const r = await ok(admin.request(exchanges.fetch, { topic: 'fz.w', partition, offset, maxBytes: 1 << 20, maxWaitMs: 0, minBytes: 0 }))
        if (r.records.length === 0) break
        for (const { header } of scanBatches(r.records)) {
          const first = partition === 0 && header.baseOffset === 0
          if (!first) expect(header.producerId < 0 || isProducerIdOf(fuzzer, header.producerId), `batch at ${header.baseOffset} of fz.w/${partition} with producer id ${header.producerId}`).toBe(true)
          offset = header.baseOffset + header.lastOffsetDelta + 1
        }
      }
    }

    // Still serving: a new connection is answered and the victim's producer goes on where it was.
    const again = await RawConnection.open(running.url, { token: victimToken })
    expect(await ok(again.request(exchanges.produce, { topic: 'secret', partition: 0, acks: -1, timeoutMs: 5_000, batch: batchOf(victimId, 1) }))).toMatchObject({ baseOffset: 1, duplicate: false })
    expect((await fetch(`${running.httpUrl}/healthz`)).status).toBe(200)
    console.log(`fuzz seed ${SEED}: ${result.framesSent} frames over ${result.connections} connections; answers ${JSON.stringify(Object.fromEntries(result.answers))}; closes ${JSON.stringify(Object.fromEntries(result.closes))}; refused-token hellos ${JSON.stringify(Object.fromEntries(result.hostileHellos))}`)
  }, 60_000 + FRAMES * 2)
})
