import { describe, expect, it } from 'vitest'
import { controllersArg, nodeRoles } from './start-command.js'

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

describe('the roles of a node with --node-id and --controllers', () => {
  const voters = controllersArg('1@a:1,2@b:2,3@c:3')

  it('is a controller voter and broker when its id is among the controllers, else a broker-only node', () => {
    expect(nodeRoles(2, voters, undefined)).toBe('controller,broker')
    expect(nodeRoles(4, voters, undefined)).toBe('broker')
  })

  it('checks --process-roles against them, so a typo in either flag stops the node', () => {
    expect(nodeRoles(4, voters, 'broker')).toBe('broker')
    expect(nodeRoles(1, voters, 'controller,broker')).toBe('controller,broker')
    expect(() => nodeRoles(4, voters, 'controller,broker')).toThrow(/--node-id 4 must be among --controllers \(1, 2, 3\)/)
    expect(() => nodeRoles(3, voters, 'broker')).toThrow(/--node-id 3 is among --controllers/)
  })
})
