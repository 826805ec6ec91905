// Scenario `streams`: the Durable Streams HTTP protocol on a Samsa broker (fsync always), beside Samsa's WebSocket
// path (SDK producer, acks all) and beside the reference server (@durable-streams/server, file-backed), each server
// in its own process, in one run: appends one record per request and batched (16 in flight), SSE delivery latency.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { withBroker } from '../lib/broker-process.mjs'
import { spawnNode, stopChild } from '../lib/child-process.mjs'
import { closeClient, loadSdk, makeClient } from '../lib/sdk.mjs'
import { summarize } from '../lib/stats.mjs'

const RECORD_BYTES = 100
const CONCURRENCY = 16
const BATCH = 100
// Below what one-record appends sustain even on a loaded 2-core machine, so the latency is delivery, not an append queue.
const SSE_RATE = 100

const payload = (n) => 'x'.repeat(n)

/** Runs `one()` with CONCURRENCY in flight for durationMs; answers records/s and per-request latency. */
async function closedLoop(one, recordsPerCall, durationMs) {
  const latencies = []
  let calls = 0
  const end = performance.now() + durationMs
  const worker = async () => {
    while (performance.now() < end) {
      const t = performance.now()
      await one()
      latencies.push(performance.now() - t)
      calls++
    }
  }
  const started = performance.now()
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  const seconds = (performance.now() - started) / 1000
  return { recordsPerSec: Math.round((calls * recordsPerCall) / seconds), requestsPerSec: Math.round(calls / seconds), latency: summarize(latencies) }
}

async function httpAppend(base, name, batched, durationMs) {
  const url = `${base}/v1/stream/${name}`
  const type = batched ? 'application/json' : 'text/plain'
  const created = await fetch(url, { method: 'PUT', headers: { 'content-type': type } })
  if (created.status !== 201) throw new Error(`PUT ${url}: ${created.status}`)
  const body = batched ? JSON.stringify(Array.from({ length: BATCH }, () => payload(RECORD_BYTES - 2))) : payload(RECORD_BYTES)
  return closedLoop(async () => {
    const r = await fetch(url, { method: 'POST', headers: { 'content-type': type }, body })
    if (r.status !== 204 && r.status !== 200) throw new Error(`POST ${url}: ${r.status}`)
    await r.arrayBuffer()
  }, batched ? BATCH : 1, durationMs)
}

/** SSE delivery: a writer POSTs one timestamped record per 1/SSE_RATE s; an SSE reader measures receive − send. */
async function sseLatency(base, name, durationMs) {
  const url = `${base}/v1/stream/${name}`
  await fetch(url, { method: 'PUT', headers: { 'content-type': 'text/plain' } })
  const tail = (await fetch(url, { method: 'HEAD' })).headers.get('stream-next-offset')
  const ac = new AbortController()
  const res = await fetch(`${url}?offset=${tail}&live=sse`, { signal: ac.signal })
  const reader = res.body.getReader()
  const td = new TextDecoder()
  const latencies = []
  let buffered = ''
  const reading = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read()
        if (done) return
        const now = performance.now()
        buffered += td.decode(value, { stream: true })
        let cut
        while ((cut = buffered.indexOf('\n\n')) >= 0) {
          const event = buffered.slice(0, cut)
          buffered = buffered.slice(cut + 2)
          if (!event.startsWith('event: data')) continue
          const text = event.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5)).join('\n')
          for (const t of text.split(';')) if (t) latencies.push(now - Number(t))
        }
      }
    } catch {
      // aborted at the end
    }
  })()
  const sends = []
  const started = performance.now()
  let sent = 0
  while (performance.now() - started < durationMs) {
    const due = Math.floor(((performance.now() - started) * SSE_RATE) / 1000)
    for (; sent < due; sent++) sends.push(fetch(url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: `${performance.now()};` }).then((r) => r.arrayBuffer()))
    await new Promise((r) => setTimeout(r, 2))
  }
  await Promise.all(sends)
  const deadline = performance.now() + 5_000
  while (latencies.length < sent && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10))
  ac.abort()
  await reading
  return { sent, received: latencies.length, latency: summarize(latencies) }
}

async function wsAppend(wsUrl, batched, durationMs) {
  const sdk = await loadSdk()
  const client = makeClient(sdk, { url: [wsUrl], clientId: `bench-ws-${batched ? 'batch' : 'one'}` })
  try {
    const topic = `ws-append-${batched ? 'batch' : 'one'}`
    await client.admin.createTopic(topic, { partitions: 1 })
    const producer = client.producer({ acks: 'all' })
    const value = new TextEncoder().encode(payload(RECORD_BYTES))
    const records = Array.from({ length: batched ? BATCH : 1 }, () => ({ value }))
    return await closedLoop(() => producer.send(topic, records), records.length, durationMs)
  } finally {
    await closeClient(client)
  }
}

async function withReference(serverCpu, fn) {
  const dataDir = await mkdtemp(join(tmpdir(), 'ds-reference-bench-'))
  const server = await spawnNode([fileURLToPath(new URL('../lib/reference-streams-server.mjs', import.meta.url)), dataDir], {
    pinCpu: serverCpu,
    isReady: (line) => (line.startsWith('reference-streams-url ') ? line.slice('reference-streams-url '.length).trim() : undefined),
  })
  try {
    return await fn(server.ready)
  } finally {
    await stopChild(server.child)
    await rm(dataDir, { recursive: true, force: true })
  }
}

/**
 * opts: { durationMs, serverCpu, brokerNodeArgs }. Answers { scenario: 'streams', rows: [{ target, scenario,
 * recordsPerSec?, requestsPerSec?, sent?, received?, latency }] }.
 */
export async function httpStreams({ durationMs, serverCpu, brokerNodeArgs = [] }) {
  const rows = []
  const row = (target, scenario, r) => rows.push({ target, scenario, ...r })
  await withBroker({ fsync: 'always', pinCpu: serverCpu, nodeArgs: brokerNodeArgs }, async ({ httpUrl, wsUrl }) => {
    row('samsa http', 'append 1/request', await httpAppend(httpUrl, 'one', false, durationMs))
    row('samsa http', `append ${BATCH}/request (JSON)`, await httpAppend(httpUrl, 'batch', true, durationMs))
    row('samsa http', 'sse delivery', await sseLatency(httpUrl, 'sse', durationMs))
    row('samsa ws', 'append 1/send', await wsAppend(wsUrl, false, durationMs))
    row('samsa ws', `append ${BATCH}/send`, await wsAppend(wsUrl, true, durationMs))
  })
  await withReference(serverCpu, async (url) => {
    row('reference', 'append 1/request', await httpAppend(url, 'one', false, durationMs))
    row('reference', `append ${BATCH}/request (JSON)`, await httpAppend(url, 'batch', true, durationMs))
    row('reference', 'sse delivery', await sseLatency(url, 'sse', durationMs))
  })
  return { scenario: 'streams', durationMs, recordBytes: RECORD_BYTES, concurrency: CONCURRENCY, batch: BATCH, sseRatePerSec: SSE_RATE, fsync: 'always', rows }
}
