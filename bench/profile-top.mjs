#!/usr/bin/env node
// Prints the hottest functions (self time) of a .cpuprofile written by `node --cpu-prof`:
//   node bench/profile-top.mjs FILE.cpuprofile [N] [--inclusive]
import { readFileSync } from 'node:fs'

const [file, nArg] = process.argv.slice(2).filter((a) => !a.startsWith('--'))
if (!file) {
  process.stderr.write('usage: node bench/profile-top.mjs FILE.cpuprofile [N]\n')
  process.exit(2)
}
const n = Number(nArg ?? 25)
const profile = JSON.parse(readFileSync(file, 'utf8'))
const byId = new Map(profile.nodes.map((node) => [node.id, node]))
const selfUs = new Map()
const deltas = profile.timeDeltas
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i]
  selfUs.set(id, (selfUs.get(id) ?? 0) + (deltas[i] ?? 0))
}
const totals = new Map()
let total = 0
for (const [id, us] of selfUs) {
  const cf = byId.get(id).callFrame
  const where = cf.url ? `${cf.url.replace(/^file:\/\/.*?\/(packages|node_modules|bench)\//, '$1/')}:${cf.lineNumber + 1}` : ''
  const key = `${cf.functionName || '(anonymous)'} ${where}`.trim()
  totals.set(key, (totals.get(key) ?? 0) + us)
  total += us
}
// inclusive time per function key (counted once per sample even if recursive)
const parent = new Map()
for (const node of profile.nodes) for (const c of node.children ?? []) parent.set(c, node.id)
const keyOf = (id) => {
  const cf = byId.get(id).callFrame
  const where = cf.url ? `${cf.url.replace(/^file:\/\/.*?\/(packages|node_modules|bench)\//, '$1/')}:${cf.lineNumber + 1}` : ''
  return `${cf.functionName || '(anonymous)'} ${where}`.trim()
}
const inclusive = new Map()
for (const [id, us] of selfUs) {
  const seen = new Set()
  for (let at = id; at !== undefined; at = parent.get(at)) {
    const k = keyOf(at)
    if (seen.has(k)) continue
    seen.add(k)
    inclusive.set(k, (inclusive.get(k) ?? 0) + us)
  }
}
const idle = [...totals].filter(([k]) => k.startsWith('(idle)')).reduce((a, [, v]) => a + v, 0)
process.stdout.write(`${file}\ntotal ${(total / 1000).toFixed(0)} ms sampled, busy ${((total - idle) / 1000).toFixed(0)} ms (${(((total - idle) / total) * 100).toFixed(0)}%)\n`)
for (const [key, us] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, n)) {
  process.stdout.write(`${(us / 1000).toFixed(1).padStart(9)} ms ${((us / total) * 100).toFixed(1).padStart(5)}%  ${key}\n`)
}
if (process.argv.includes('--inclusive')) {
  process.stdout.write('\ninclusive (self + callees):\n')
  for (const [key, us] of [...inclusive].filter(([k]) => !k.startsWith('(root)')).sort((a, b) => b[1] - a[1]).slice(0, n)) {
    process.stdout.write(`${(us / 1000).toFixed(1).padStart(9)} ms ${((us / total) * 100).toFixed(1).padStart(5)}%  ${key}\n`)
  }
}
