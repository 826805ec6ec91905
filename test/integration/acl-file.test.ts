/**
 * The ACL file on a real broker (--acl-file) with authentication and --allow-anonymous: its grants apply to
 * connections (here anonymous ones, which present no token), a changed file is reloaded on the next poll, a bad one
 * keeps the previous ACLs with one warn line, refusals show in /metrics, and a broker does not start on a bad file.
 * The topics are created by an admin whose right comes from its token.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { exchanges } from '@samsa/shared'
import { startBroker, type RunningBroker } from '../../packages/server/src/adapters/node/index.js'
import { recordingLogger, type LogLine } from '../support/broker-fixture.js'
import { RawConnection } from '../support/raw-connection.js'
import { produceValues } from '../support/raw-log.js'
import { TEST_AUTHENTICATION, signedToken } from '../support/test-tokens.js'
import { until } from '../support/until.js'

const acl = (writePattern: string) => JSON.stringify({ principals: { anonymous: { allow: [{ operation: 'write', pattern: writePattern }] } } })

describe('--acl-file', () => {
  let running: RunningBroker | undefined
  let dir = ''
  afterAll(async () => {
    await running?.close()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('grants what it says, is reloaded when it changes, keeps its ACLs through a bad version, and counts refusals in /metrics', async () => {
    dir = await mkdtemp(join(tmpdir(), 'samsa-acl-file-'))
    const file = join(dir, 'acl.json')
    await writeFile(file, acl('open.*'))
    const lines: LogLine[] = []
    running = await startBroker({ port: 0, dataDir: join(dir, 'data'), logger: recordingLogger(lines), authentication: TEST_AUTHENTICATION, authorization: { aclFile: file }, config: { aclPollIntervalMs: 20, allowAnonymous: true } })
    const root = await RawConnection.open(running.url, { token: await signedToken('admin', { admin: true }) })
    for (const name of ['open.a', 'closed.a']) expect((await root.request(exchanges.createTopic, { name, partitions: 1 })).ok).toBe(true)

    const anon = await RawConnection.open(running.url)
    expect(await produceValues(anon, 'open.a', 0, ['x'])).toBe(0)
    await expect(produceValues(anon, 'closed.a', 0, ['x'])).rejects.toMatchObject({ errorName: 'TOPIC_AUTHORIZATION_FAILED', message: 'principal "anonymous" may not write topic "closed.a"' })
    expect(anon.closed).toBeNull()

    await writeFile(file, acl('closed.*'))
    await until(() => produceValues(anon, 'closed.a', 0, ['y']).then(() => true, () => false), { what: 'the new ACL file in force' })
    await expect(produceValues(anon, 'open.a', 0, ['x'])).rejects.toMatchObject({ errorName: 'TOPIC_AUTHORIZATION_FAILED' })

    await writeFile(file, '{"principals": {"anonymous": {"allow": [{"operation": "write"}]}}}')
    const warn = await until(() => lines.find((l) => l.level === 'warn' && /not reloaded/.test(l.msg ?? '')), { what: 'the bad file reported' })
    expect(warn.msg).toContain(`ACL file ${file} not reloaded, the previous ACLs stay in force: principals["anonymous"].allow[0].pattern`)
    expect(await produceValues(anon, 'closed.a', 0, ['z'])).toBe(1)
    expect(lines.filter((l) => /not reloaded/.test(l.msg ?? ''))).toHaveLength(1)

    const metrics = await (await fetch(`${running.httpUrl}/metrics`)).text()
    // Two refusals above, and any the reload wait met before the new file was in force.
    expect(Number(/samsa_authorization_refusals_total\{operation="write"\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(2)
  })

  it('a broker does not start on a missing or bad ACL file', async () => {
    const d = await mkdtemp(join(tmpdir(), 'samsa-acl-bad-'))
    try {
      await expect(startBroker({ port: 0, dataDir: join(d, 'data'), logger: recordingLogger([]), authorization: { aclFile: join(d, 'none.json') } })).rejects.toThrow(/ACL file .*none.json does not exist/)
      await writeFile(join(d, 'bad.json'), '{"principals": 3}')
      await expect(startBroker({ port: 0, dataDir: join(d, 'data'), logger: recordingLogger([]), authorization: { aclFile: join(d, 'bad.json') } })).rejects.toThrow(/bad.json: the ACL file must be an object with a "principals" object/)
    } finally {
      await rm(d, { recursive: true, force: true })
    }
  })
})
