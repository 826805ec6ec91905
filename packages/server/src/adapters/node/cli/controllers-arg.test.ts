import { describe, expect, it } from 'vitest'
import { controllersArg } from './start-command.js'

describe('--controllers', () => {
  it('parses ID@HOST:PORT lists into voters with ws:// base URLs', () => {
    expect(controllersArg('1@127.0.0.1:8081, 2@wss://b.example:443/')).toEqual([
      { id: 1, url: 'ws://127.0.0.1:8081' },
      { id: 2, url: 'wss://b.example:443' },
    ])
  })

  it('rejects a missing id, id 0, duplicate ids and a bad address, naming the part', () => {
    expect(() => controllersArg('127.0.0.1:8081')).toThrow(/"127.0.0.1:8081" is not ID@HOST:PORT/)
    expect(() => controllersArg('0@127.0.0.1:8081')).toThrow(/controller id 0/)
    expect(() => controllersArg('1@a:1,1@b:2')).toThrow(/distinct/)
    expect(() => controllersArg('1@http://a:1')).toThrow(/controller 1/)
  })
})
