import { describe, expect, it } from 'vitest'
import { ReadGate } from './read-gate.js'

function deferred<T>() {
  let resolve!: (v: T) => void
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}
const settle = () => new Promise<void>((r) => setImmediate(r))

describe('ReadGate', () => {
  it('a closed task waits for reads in flight; reads started meanwhile wait for the task', async () => {
    const gate = new ReadGate()
    const events: string[] = []
    const first = deferred<string>()
    const r1 = gate.run(() => first.promise.then((v) => (events.push(`read ${v}`), v)))
    const task = deferred<void>()
    const t = gate.closed(async () => {
      events.push('task start')
      await task.promise
      events.push('task end')
    })
    await settle()
    expect(events).toEqual([])
    const r2 = gate.run(async () => (events.push('read 2'), '2'))
    first.resolve('1')
    await settle()
    expect(events).toEqual(['read 1', 'task start'])
    task.resolve()
    await Promise.all([r1, r2, t])
    expect(events).toEqual(['read 1', 'task start', 'task end', 'read 2'])
  })

  it('a failing read or task leaves the gate open', async () => {
    const gate = new ReadGate()
    await expect(gate.run(() => Promise.reject(new Error('read failed')))).rejects.toThrow('read failed')
    await expect(gate.closed(() => Promise.reject(new Error('task failed')))).rejects.toThrow('task failed')
    expect(await gate.run(async () => 'ok')).toBe('ok')
  })
})
