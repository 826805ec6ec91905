import { describe, expect, it } from 'vitest'
import { parseEntryArgs } from './entry-args.js'

describe('runtime entry arguments', () => {
  it('takes the data directory, host, port and the broker limits in kebab case', () => {
    expect(parseEntryArgs(['--data-dir', 'd', '--port=0', '--max-connections-per-ip', '5'], 'samsa-bun')).toEqual({ dataDir: 'd', host: '127.0.0.1', port: 0, config: { maxConnectionsPerIp: 5 } })
  })

  it('names what is wrong: a missing data directory, an unknown flag, a limit out of range', () => {
    expect(() => parseEntryArgs([], 'samsa-deno')).toThrow('samsa-deno: --data-dir DIR is required')
    expect(() => parseEntryArgs(['--data-dir', 'd', '--nope', '1'], 'samsa-deno')).toThrow(/unknown option --nope/)
    expect(() => parseEntryArgs(['--data-dir', 'd', '--max-connections-per-ip', '0'], 'samsa-deno')).toThrow(/--max-connections-per-ip: /)
  })
})

describe('runtime entry arguments: TLS, authentication, authorization (as on samsa start)', () => {
  it('takes the TLS files together, the --auth-* files (public keys repeatable) and the ACL options', () => {
    const args = parseEntryArgs(
      ['--data-dir', 'd', '--tls-cert', 'c.pem', '--tls-key=k.pem', '--auth-hs256-secret-file', 's', '--auth-public-key', 'ES256:a.pem', '--auth-public-key', 'EdDSA:b.jwk', '--auth-issuer', 'iss', '--acl-file', 'acl.json', '--protect-metrics'],
      'samsa-bun',
    )
    expect(args).toEqual({
      dataDir: 'd',
      host: '127.0.0.1',
      port: 8080,
      config: {},
      tls: { certFile: 'c.pem', keyFile: 'k.pem' },
      authentication: { hs256SecretFile: 's', publicKeys: ['ES256:a.pem', 'EdDSA:b.jwk'], issuer: 'iss' },
      authorization: { aclFile: 'acl.json', protectMetrics: true },
    })
  })

  it('refuses a certificate without its key', () => {
    expect(() => parseEntryArgs(['--data-dir', 'd', '--tls-cert', 'c.pem'], 'samsa-deno')).toThrow('samsa-deno: --tls-cert and --tls-key go together')
  })
})
