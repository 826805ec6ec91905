// Child process: a plain `ws` server on 127.0.0.1:0 with no broker logic.
// argv[2] = 'ack'  → answers every frame with a 35-byte frame carrying the request's correlationId
//                    (the size of a produce response: 8-byte header, errorCode i16, 3×i64, bool);
//           'echo' → sends every frame back unchanged;
//           'broadcast' → a connection that sends the single byte 'S' is a subscriber (the 'S' comes back); every other frame
//                         is sent, the same bytes, to every subscriber (the fan-out baseline).
// Prints one JSON line {"msg":"raw ws listening","port":N} on stdout; exits when its parent goes away.
import { WebSocketServer } from 'ws'

const mode = process.argv[2] ?? 'ack'
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 64 * 1024 * 1024, perMessageDeflate: false })

const subscribers = new Set()

wss.on('connection', (ws) => {
  ws.on('close', () => subscribers.delete(ws))
  ws.on('message', (data) => {
    if (mode === 'broadcast') {
      if (data.length === 1 && data[0] === 0x53) { subscribers.add(ws); ws.send(data) }
      else for (const s of subscribers) s.send(data)
      return
    }
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
