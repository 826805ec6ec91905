// Runs raw-ws-server.mjs in a child process for the duration of fn({ url }).
import { fileURLToPath } from 'node:url'
import { spawnNode, stopChild } from './child-process.mjs'

const script = fileURLToPath(new URL('./raw-ws-server.mjs', import.meta.url))

/** nodeArgs: node options before the script (the `idle` scenario's memory probe). fn also gets the child process. */
export async function withRawServer({ mode, pinCpu, nodeArgs = [] }, fn) {
  const server = await spawnNode([...nodeArgs, script, mode], {
    ipc: true,
    pinCpu,
    timeoutMs: 10_000,
    isReady: (line) => {
      if (!line.startsWith('{')) return undefined
      const entry = JSON.parse(line)
      return entry.msg === 'raw ws listening' ? entry.port : undefined
    },
  })
  try {
    return await fn({ url: `ws://127.0.0.1:${server.ready}`, pid: server.child.pid, child: server.child })
  } finally {
    await stopChild(server.child)
  }
}
