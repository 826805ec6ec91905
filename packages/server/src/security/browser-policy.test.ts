import { describe, expect, it } from 'vitest'
import { BrowserPolicy, defaultAllowedHosts, demoContentSecurityPolicy, hostEntryProblem, normalizeOrigin, originEntryProblem } from './browser-policy.js'

const own = new BrowserPolicy({ allowedOrigins: [], allowedHosts: defaultAllowedHosts('127.0.0.1', 'ws://127.0.0.1:8080') })

describe('BrowserPolicy', () => {
  it('passes requests without Origin (non-browser clients) and refuses foreign origins with 403', () => {
    expect(own.checkOrigin({ host: '127.0.0.1:8080' }).ok).toBe(true)
    expect(own.checkOrigin({ host: '127.0.0.1:8080', origin: 'http://evil.example' })).toMatchObject({ ok: false, reason: 'origin', status: 403 })
    expect(own.checkOrigin({ host: '127.0.0.1:8080', origin: 'null' })).toMatchObject({ ok: false, reason: 'origin' })
  })

  it('accepts the broker\'s own origin: the Host it is served under, default ports made explicit', () => {
    expect(own.checkOrigin({ host: '127.0.0.1:8080', origin: 'http://127.0.0.1:8080' }).ok).toBe(true)
    expect(own.checkOrigin({ host: 'localhost:8080', origin: 'http://localhost:8080' }).ok).toBe(true)
    expect(own.checkOrigin({ host: 'localhost', origin: 'http://localhost:80' }).ok).toBe(true)
    expect(own.checkOrigin({ host: 'localhost:8080', origin: 'http://127.0.0.1:8080' }).ok).toBe(false)
    expect(own.checkOrigin({ host: '127.0.0.1:8080', origin: 'http://127.0.0.1:8081' }).ok).toBe(false)
  })

  it('refuses a Host that is neither an IP literal nor a configured name (DNS rebinding) with 421', () => {
    expect(own.checkHost({ host: 'evil.example:8080' })).toMatchObject({ ok: false, reason: 'host', status: 421 })
    expect(own.checkHost({ host: 'EVIL.example' }).ok).toBe(false)
    expect(own.checkHost({ host: '10.1.2.3:8080' }).ok).toBe(true)
    expect(own.checkHost({ host: '[::1]:8080' }).ok).toBe(true)
    expect(own.checkHost({ host: 'LocalHost:8080' }).ok).toBe(true)
    expect(own.checkHost({}).ok).toBe(true)
  })

  it('adds listed origins and hosts, `*` opts out', () => {
    const p = new BrowserPolicy({ allowedOrigins: ['https://app.example.com'], allowedHosts: ['broker.example.com'] })
    expect(p.checkOrigin({ host: 'broker.example.com', origin: 'https://app.example.com' }).ok).toBe(true)
    expect(p.checkOrigin({ host: 'broker.example.com', origin: 'http://app.example.com' }).ok).toBe(false)
    const any = new BrowserPolicy({ allowedOrigins: ['*'], allowedHosts: ['*'] })
    expect(any.checkOrigin({ host: 'x.example', origin: 'http://evil.example' }).ok).toBe(true)
  })

  it('accepts the origins of the cluster\'s nodes (their base URLs, read at each check)', () => {
    const urls = ['ws://127.0.0.1:9001']
    const p = new BrowserPolicy({ allowedOrigins: [], allowedHosts: [], clusterUrls: () => urls })
    expect(p.checkOrigin({ host: '127.0.0.1:9002', origin: 'http://127.0.0.1:9001' }).ok).toBe(true)
    expect(p.checkOrigin({ host: '127.0.0.1:9002', origin: 'http://127.0.0.1:9003' }).ok).toBe(false)
    urls.push('wss://127.0.0.1:9003')
    expect(p.checkOrigin({ host: '127.0.0.1:9002', origin: 'https://127.0.0.1:9003' }).ok).toBe(true)
  })

  it('requires application/json on writes with a body (415), whatever the origin', () => {
    expect(own.checkWrite({ host: '127.0.0.1', contentType: 'text/plain' }, true)).toMatchObject({ ok: false, reason: 'content-type', status: 415 })
    expect(own.checkWrite({ host: '127.0.0.1' }, true).ok).toBe(false)
    expect(own.checkWrite({ host: '127.0.0.1', contentType: 'Application/JSON; charset=utf-8' }, true).ok).toBe(true)
    expect(own.checkWrite({ host: '127.0.0.1' }, false).ok).toBe(true)
    expect(own.checkWrite({ host: '127.0.0.1', origin: 'http://evil.example', contentType: 'application/json' }, true)).toMatchObject({ reason: 'origin' })
  })

  it('checks list entries', () => {
    expect(originEntryProblem('https://app.example.com')).toBeNull()
    expect(originEntryProblem('app.example.com')).toMatch(/not an origin/)
    expect(originEntryProblem('https://app.example.com/path')).toMatch(/not an origin/)
    expect(hostEntryProblem('broker.example.com')).toBeNull()
    expect(hostEntryProblem('broker.example.com:80')).toMatch(/not a host name/)
    expect(normalizeOrigin('HTTPS://App.Example.com')).toBe('https://app.example.com:443')
  })

  it('builds the demo CSP for its own host', () => {
    expect(demoContentSecurityPolicy('h:1', true)).toContain("connect-src 'self' wss://h:1")
    expect(defaultAllowedHosts('0.0.0.0', 'ws://broker.example.com:9092')).toEqual(['localhost', '0.0.0.0', 'broker.example.com'])
  })
})
