/**
 * @module ReadPause: reading from a connection's socket is paused while any of its reasons holds (its output over
 * budget, a quota throttle) and resumed only once none does. Invariant: the socket sees alternating pause/resume
 * calls, one per change of "some reason holds".
 */
import type { SessionSocket } from './session-socket.js'

export type PauseReason = 'output' | 'throttle'

export class ReadPause {
  readonly #socket: SessionSocket
  readonly #reasons = new Set<PauseReason>()

  constructor(socket: SessionSocket) {
    this.#socket = socket
  }

  set(reason: PauseReason, paused: boolean): void {
    const was = this.#reasons.size > 0
    if (paused) this.#reasons.add(reason)
    else this.#reasons.delete(reason)
    const now = this.#reasons.size > 0
    if (now === was) return
    if (now) this.#socket.pauseReading()
    else this.#socket.resumeReading()
  }

  /** The socket as seen by one reason: its pause and resume count for that reason only. */
  socketFor(reason: PauseReason): SessionSocket {
    const socket = this.#socket
    return {
      send: (frame) => socket.send(frame),
      close: (code, why) => socket.close(code, why),
      bufferedAmount: () => socket.bufferedAmount(),
      pauseReading: () => this.set(reason, true),
      resumeReading: () => this.set(reason, false),
      ...(socket.remoteAddress !== undefined ? { remoteAddress: socket.remoteAddress } : {}),
    }
  }
}
