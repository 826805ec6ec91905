// Child process: a plain `ws` server on 127.0.0.1:0 with no broker logic.
// argv[2] = 'ack'  → answers every frame with a 35-byte frame carrying the request's correlationId
//                    (the size of a produce response: 8-byte header, errorCode i16, 3×i64, bool);
//           'echo' → sends every frame back unchanged.
// Prints one JSON line {"msg":"raw ws listening","port":N} on stdout; exits when its parent goes away.
import { WebSocketServer } from 'ws'

const mode = process.argv[2] ?? 'ack'
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 64 * 1024 * 1024, perMessageDeflate: false })

wss.on('connection', (ws) => {
  ws.on('message', (data) => {
    if (mode === 'echo') {
      ws.send(data)
      return
    }
    const ack = Buffer.alloc(35)
    ack.writeUInt16BE(data.readUInt16BE(0), 0)
    ack.writeUInt16BE(data.readUInt16BE(2), 2)
    ack.writeUInt32BE(data.readUInt32BE(4), 4)
    ws.send(ack)
  })
})
wss.on('listening', () => {
  process.stdout.write(JSON.stringify({ msg: 'raw ws listening', port: wss.address().port, mode }) + '\n')
})
process.on('disconnect', () => process.exit(0))
process.on('SIGTERM', () => wss.close(() => process.exit(0)))
