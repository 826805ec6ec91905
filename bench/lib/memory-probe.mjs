// Preloaded into the process the `idle` scenario measures (a broker or the raw `ws` server), as
// `node --expose-gc --import <this file> …`, spawned with an IPC channel: on { cmd: 'memory' } it runs full garbage
// collections and answers { msg: 'memory', rss, heapUsed, heapTotal, external, arrayBuffers, gc }. Bench only: the
// product never loads it, and without --expose-gc it answers without collecting (gc: false).
process.on('message', (m) => {
  if (m?.cmd !== 'memory') return
  const gc = typeof globalThis.gc === 'function'
  if (gc) {
    globalThis.gc()
    globalThis.gc()
  }
  const u = process.memoryUsage()
  process.send({ msg: 'memory', rss: u.rss, heapUsed: u.heapUsed, heapTotal: u.heapTotal, external: u.external, arrayBuffers: u.arrayBuffers, gc })
})
// The channel must not keep the process alive (the broker exits on SIGTERM as it would without it).
process.channel?.unref()
