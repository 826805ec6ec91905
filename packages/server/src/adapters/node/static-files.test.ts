import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Broker } from '../../broker/broker.js'
import { brokerConfig } from '../../broker/broker-config.js'
import { silentLogger } from '../../clock.js'
import { MemoryLogStorage } from '../../log/memory-log-storage.js'
import { createApp } from '../../transport/app.js'
import { assetPath } from '../../transport/static-assets.js'
import { nodeClock } from './node-clock.js'
import { staticFiles } from './static-files.js'

describe('the demo app through the static-assets port (Node files)', () => {
  let root: string
  let outside: string
  let broker: Broker
  let app: ReturnType<typeof createApp>
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'samsa-static-'))
    outside = await mkdtemp(join(tmpdir(), 'samsa-static-outside-'))
    await mkdir(join(root, 'app'))
    await writeFile(join(root, 'index.html'), '<!doctype html><script type="module" src="/app/main.js"></script>')
    await writeFile(join(root, 'app/main.js'), 'console.log(1)')
    await writeFile(join(root, 'app/main.css'), 'body{}')
    await writeFile(join(outside, 'secret.txt'), 'secret')
    broker = await Broker.start(brokerConfig(), { storage: new MemoryLogStorage(), clock: nodeClock, logger: silentLogger })
    app = createApp({ broker, metricsText: async () => ({ contentType: 'text/plain', body: '' }), staticAsset: staticFiles(root), sdkFile: async () => null })
  })
  afterAll(async () => {
    await broker.shutdown()
    await rm(root, { recursive: true, force: true })
    await rm(outside, { recursive: true, force: true })
  })

  it('serves index.html at / and the files under /app/ with their content types', async () => {
    const index = await app.request('/')
    expect(index.status).toBe(200)
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(await index.text()).toContain('/app/main.js')
    const js = await app.request('/app/main.js')
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect(await js.text()).toBe('console.log(1)')
    const css = await app.request('/app/main.css')
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8')
  })

  it('answers the JSON 404 for a missing file and for any path that is not a plain file under the app', async () => {
    for (const path of ['/app/missing.js', '/app/../index.html', '/app/%2e%2e/index.html', '/app/..%2findex.html', '/app/.hidden', '/app/', `/app/${'../'.repeat(3)}etc/passwd`]) {
      const r = await app.request(path)
      expect(r.status, path).toBe(404)
      expect(((await r.json()) as { error: { name: string } }).error.name, path).toBe('NOT_FOUND')
    }
  })

  it('never reads outside its directory, whatever path reaches it', async () => {
    const files = staticFiles(root)
    const rel = join('..', outside.split('/').pop()!, 'secret.txt')
    expect(await files(rel)).toBeNull()
    expect(await files('../../etc/passwd')).toBeNull()
    expect(await files('')).toBeNull()
    expect(await files('index.html')).not.toBeNull()
  })

  it('says the app is not installed when there is no index.html', async () => {
    const bare = createApp({ broker, metricsText: async () => ({ contentType: 'text/plain', body: '' }), staticAsset: async () => null, sdkFile: async () => null })
    const r = await bare.request('/')
    expect(r.status).toBe(200)
    expect(await r.text()).toContain('demo app is not installed')
  })

  it('assetPath accepts only plain segments under /app/', () => {
    expect(assetPath('/app/main-AB12.js')).toBe('app/main-AB12.js')
    expect(assetPath('/app/chunks/x.js')).toBe('app/chunks/x.js')
    for (const bad of ['/index.html', '/app/..', '/app/a/../b', '/app//x', '/app/.env', '/app/a%2fb', '/app/' + 'a/'.repeat(9) + 'x']) expect(assetPath(bad), bad).toBeNull()
  })
})
