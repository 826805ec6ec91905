#!/usr/bin/env node
// How long a new client takes to load a 1,000-edit Yjs document through @samsa/client-browser/yjs, replaying every
// update record vs. starting from a snapshot, against a broker process (`--fsync always`); plus the provider's
// added bundle size. Runs on the BUILT packages (`npm run build` first). Prints JSON; asserts nothing.
//   node bench/yjs-load.mjs [--edits 1000] [--runs 5]
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { createClient, memoryStorage } from '@samsa/client-browser'
import { SamsaYjsProvider } from '@samsa/client-browser/yjs'
import { withBroker } from './lib/broker-process.mjs'
import { machineInfo } from './lib/machine.mjs'
import { round, summarize } from './lib/stats.mjs'

const { values: flags } = parseArgs({ options: { edits: { type: 'string', default: '1000' }, runs: { type: 'string', default: '5' } } })
const EDITS = Number(flags.edits)
const RUNS = Number(flags.runs)
const DEADLINE_MS = 60_000

const root = fileURLToPath(new URL('../', import.meta.url))

async function bundled(contents, external = []) {
  const r = await build({
    stdin: { contents, resolveDir: root, loader: 'js' },
    bundle: true, minify: true, format: 'esm', platform: 'browser', target: 'es2022', write: false, logLevel: 'silent', external,
  })
  const bytes = r.outputFiles[0].contents
  return { bytes: bytes.length, gzipBytes: gzipSync(bytes, { level: 9 }).length }
}

/** Bundle sizes: the core SDK alone, the SDK + provider with yjs/y-protocols external (what the provider adds), and with them bundled. */
async function sizes() {
  const core = await bundled(`import { createClient } from '@samsa/client-browser'; globalThis.x = createClient`)
  const withProvider = await bundled(`import { createClient } from '@samsa/client-browser'; import { SamsaYjsProvider } from '@samsa/client-browser/yjs'; globalThis.x = [createClient, SamsaYjsProvider]`, ['yjs', 'y-protocols', 'y-protocols/*', 'lib0', 'lib0/*'])
  const withYjs = await bundled(`import { createClient } from '@samsa/client-browser'; import { SamsaYjsProvider } from '@samsa/client-browser/yjs'; globalThis.x = [createClient, SamsaYjsProvider]`)
  return {
    coreCreateClient: core,
    coreWithProviderYjsExternal: withProvider,
    providerAddedGzipBytes: withProvider.gzipBytes - core.gzipBytes,
    coreWithProviderAndYjs: withYjs,
  }
}

const waitFor = async (probe, what) => {
  const deadline = Date.now() + DEADLINE_MS
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

function open(wsUrl, topic, id, snapshotEveryUpdates = 0) {
  const client = createClient({ brokers: wsUrl, WebSocket, storage: memoryStorage() })
  const doc = new Y.Doc()
  const provider = new SamsaYjsProvider(client, doc, { topic, id, docStore: null, snapshotEveryUpdates })
  const errors = []
  provider.on('error', (e) => errors.push(String(e)))
  let applied = 0
  doc.on('afterTransaction', (tr) => {
    if (tr.origin === provider) applied++
  })
  return { client, doc, provider, errors, applied: () => applied, async close() { await provider.destroy(); await client.close() } }
}

/** A new client (fresh storage, no stored document): ms from `new SamsaYjsProvider` to `whenSynced` with the full text. */
async function loadOnce(wsUrl, topic, expected) {
  const t0 = performance.now()
  const reader = open(wsUrl, topic, `reader-${Math.random().toString(36).slice(2)}`)
  try {
    await Promise.race([reader.provider.whenSynced, new Promise((_, reject) => setTimeout(() => reject(new Error('not synced within the deadline')), DEADLINE_MS).unref())])
    const ms = performance.now() - t0
    const text = reader.doc.getText('t').toString()
    if (text !== expected) throw new Error(`loaded ${text.length} characters, expected ${expected.length}`)
    if (reader.errors.length > 0) throw new Error(reader.errors.join('; '))
    return { ms, transactions: reader.applied() }
  } finally {
    await reader.close()
  }
}

async function measure(wsUrl, topic, expected) {
  await loadOnce(wsUrl, topic, expected) // warm-up (JIT, broker page cache)
  const samples = []
  let transactions = 0
  for (let i = 0; i < RUNS; i++) {
    const r = await loadOnce(wsUrl, topic, expected)
    samples.push(r.ms)
    transactions = r.transactions
  }
  const s = summarize(samples)
  return { runs: RUNS, medianMs: round(s.p50Ms), minMs: round(s.minMs), maxMs: round(s.maxMs), appliedTransactions: transactions }
}

const report = await withBroker({ fsync: 'always' }, async ({ wsUrl }) => {
  const topic = 'bench.yjs-doc'
  const writer = open(wsUrl, topic, 'writer')
  try {
    await writer.provider.whenSynced
    const text = writer.doc.getText('t')
    // EDITS edits, one record each: typing at the end, with every tenth edit deleting a character in the middle.
    for (let i = 0; i < EDITS; i++) {
      if (i % 10 === 9 && text.length > 2) text.delete(Math.floor(text.length / 2), 1)
      else text.insert(text.length, String.fromCharCode(97 + (i % 26)))
      if (i % 50 === 49) await new Promise((r) => setImmediate(r))
    }
    await writer.provider.whenSynced
    await waitFor(() => writer.provider.unsyncedChanges === 0, 'the writer to have every edit acknowledged')
    const expected = text.toString()
    const { offset: records } = await writer.client.admin.listOffsets(topic, 0, 'latest')
    const replay = await measure(wsUrl, topic, expected)
    const snapshot = await writer.provider.snapshot()
    const fromSnapshot = await measure(wsUrl, topic, expected)
    return {
      scenario: 'yjs-load',
      edits: EDITS,
      updateRecords: records,
      documentBytes: Y.encodeStateAsUpdate(writer.doc).length,
      snapshot: { offset: snapshot.offset, upto: snapshot.upto },
      withoutSnapshot: replay,
      withSnapshot: fromSnapshot,
      speedup: round(replay.medianMs / fromSnapshot.medianMs),
    }
  } finally {
    await writer.close()
  }
})

process.stdout.write(`${JSON.stringify({ machine: machineInfo(), ...report, bundle: await sizes() }, null, 2)}\n`)
