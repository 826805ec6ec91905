/**
 * @module ReadPause: reading from a connection's socket is paused while any of its reasons holds (its output over
 * budget, a quota throttle) and resumed only once none does. Invariant: the socket sees alternating pause/resume
 * calls, one per change of "some reason holds". One per connection, so its state is a bit set, not a Set.
 */
import type { SessionSocket } from './session-socket.js'

export type PauseReason = 'output' | 'throttle'

const BIT: Readonly<Record<PauseReason, number>> = { output: 1, throttle: 2 }

export class ReadPause {
  readonly #socket: SessionSocket
  /** The reasons that hold, as BIT flags. */
  #reasons = 0

  constructor(socket: SessionSocket) {
    this.#socket = socket
  }

  set(reason: PauseReason, paused: boolean): void {
    const was = this.#reasons !== 0
    this.#reasons = paused ? this.#reasons | BIT[reason] : this.#reasons & ~BIT[reason]
    const now = this.#reasons !== 0
    if (now === was) return
    if (now) this.#socket.pauseReading()
    else this.#socket.resumeReading()
  }

  /** The socket as seen by one reason: its pause and resume count for that reason only. */
  socketFor(reason: PauseReason): SessionSocket {
    return new ReasonSocket(this, this.#socket, reason)
  }
}

/** The socket seen by one pause reason (its methods on the prototype: no closures per connection). */
class ReasonSocket implements SessionSocket {
  readonly #pause: ReadPause
  readonly #socket: SessionSocket
  readonly #reason: PauseReason

  constructor(pause: ReadPause, socket: SessionSocket, reason: PauseReason) {
    this.#pause = pause
    this.#socket = socket
    this.#reason = reason
  }

  get remoteAddress(): string | undefined {
    return this.#socket.remoteAddress
  }

  send(frame: Uint8Array): void {
    this.#socket.send(frame)
  }

  close(code: number, reason: string): void {
    this.#socket.close(code, reason)
  }

  bufferedAmount(): number {
    return this.#socket.bufferedAmount()
  }

  pauseReading(): void {
    this.#pause.set(this.#reason, true)
  }

  resumeReading(): void {
    this.#pause.set(this.#reason, false)
  }
}
