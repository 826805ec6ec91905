import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { FakeBroker } from './testing/fake-broker.js'

const script = fileURLToPath(new URL('../scripts/bundle.mjs', import.meta.url))
const bundle = fileURLToPath(new URL('../dist/samsa.js', import.meta.url))

describe('browser bundle (dist/samsa.js)', () => {
  it('builds for the browser and works end to end when given ws', async () => {
    expect(execFileSync(process.execPath, [script], { encoding: 'utf8' })).toMatch(/samsa\.js: [\d.]+ KiB/)
    const sdk = (await import(/* @vite-ignore */ `${bundle}?t=${Date.now()}`)) as typeof import('./index.js')
    const broker = await FakeBroker.start()
    const client = sdk.createClient({ brokers: broker.url, WebSocket })
    try {
      await client.admin.createTopic('b', { partitions: 1 })
      const [meta] = await client.producer().send('b', [{ key: 'k', value: 'hi' }])
      expect(meta).toEqual({ topic: 'b', partition: 0, offset: 0 })
      for await (const r of client.consumer().subscribe('b', { from: 'earliest' })) {
        expect(r.text()).toBe('hi')
        break
      }
    } finally {
      await client.close()
      await broker.close()
    }
  })
})
