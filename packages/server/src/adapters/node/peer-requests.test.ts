import { createServer, type Socket } from 'node:net'
import { describe, expect, it } from 'vitest'
import { silentLogger } from '@samsa/shared'
import { PeerRequests } from './peer-requests.js'

describe('PeerRequests', () => {
  it('times out a call to a peer that never answers its upgrade, and dials again on the next call', async () => {
    const sockets: Socket[] = []
    const server = createServer((s) => void sockets.push(s))
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const port = (server.address() as import('node:net').AddressInfo).port
    const peers = new PeerRequests({ nodeId: 1, clusterId: 'c', urls: new Map([[2, `ws://127.0.0.1:${port}`]]), logger: silentLogger, timeoutMs: 200 })
    try {
      const call = () => peers.request(2, 'brokerHeartbeat', { brokerId: 1, brokerEpoch: 1, metadataOffset: 0, wantShutDown: false, incompleteReplicas: [] })
      await expect(call()).rejects.toMatchObject({ errorName: 'REQUEST_TIMED_OUT' })
      await expect(call()).rejects.toMatchObject({ errorName: 'REQUEST_TIMED_OUT' })
      expect(sockets.length).toBe(2)
      await expect(peers.request(3, 'deleteTopic', { name: 'x' })).rejects.toMatchObject({ errorName: 'NOT_CONTROLLER' })
    } finally {
      peers.close()
      for (const s of sockets) s.destroy()
      await new Promise((r) => server.close(r))
    }
  })
})
