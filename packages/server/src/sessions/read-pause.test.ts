import { describe, expect, it } from 'vitest'
import { ReadPause } from './read-pause.js'
import { RecordingSocket } from './testing/session-harness.js'

describe('ReadPause', () => {
  it('keeps reading paused while the output budget or a throttle holds it, and resumes once neither does', () => {
    const socket = new RecordingSocket('10.0.0.1')
    const calls: string[] = []
    socket.pauseReading = () => void calls.push('pause')
    socket.resumeReading = () => void calls.push('resume')
    const pause = new ReadPause(socket)
    const output = pause.socketFor('output')
    expect(output.remoteAddress).toBe('10.0.0.1')
    output.pauseReading()
    pause.set('throttle', true)
    output.resumeReading()
    expect(calls).toEqual(['pause'])
    pause.set('throttle', false)
    expect(calls).toEqual(['pause', 'resume'])
    pause.set('throttle', false)
    output.resumeReading()
    expect(calls).toEqual(['pause', 'resume'])
  })
})
