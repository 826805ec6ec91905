import { ProtocolError, SamsaError } from '@samsa/shared'
import { describe, expect, it } from 'vitest'
import { StorageFullError, TooManyOpenFilesError } from '../log/log-storage.js'
import { LogCorruptionError } from '../log/log-recovery.js'
import { InvalidStoragePathError } from '../log/storage-path.js'
import { toSamsaError, withoutPaths } from './to-samsa-error.js'

const NODE_EMFILE = Object.assign(new Error("EMFILE: too many open files, open '/home/ann/samsa/data/topics/t17/3/00000000000000000000.log'"), { code: 'EMFILE', syscall: 'open' })

describe('toSamsaError never sends a filesystem path', () => {
  it.each([
    ["EACCES: permission denied, mkdir '/var/lib/samsa/topics/x'", "EACCES: permission denied, mkdir '<path>'"],
    ['ENOENT: no such file or directory, open "C:\\samsa\\data\\topics"', 'ENOENT: no such file or directory, open "<path>"'],
    ['write to /tmp/samsa-it-1/topics/a/0/00.log failed', 'write to <path> failed'],
    ['at C:\\samsa\\data\\x.log, then', 'at <path>, then'],
    ['fsync of /data/x failed (EIO)', 'fsync of <path> failed (EIO)'],
    ['corrupt log topics/orders/0/00000000000000000000.log at byte 9', 'corrupt log <path> at byte 9'],
  ])('%s', (raw, clean) => {
    expect(withoutPaths(raw)).toBe(clean)
  })

  it('keeps messages without paths as they are (URLs, ranges, names)', () => {
    for (const m of ['use ws://127.0.0.1:8080/ws', 'offset 9 is outside [0, 5]', 'topic "a.b-c_d" has partitions 0..2', 'a/b is not a topic name']) expect(withoutPaths(m)).toBe(m)
  })

  it('maps storage conditions to retriable KAFKA_STORAGE_ERROR with fixed wording, keeping the cause for the log', () => {
    for (const cause of [new TooManyOpenFilesError(NODE_EMFILE.message), new StorageFullError("no space left on device writing '/srv/d/x.log'")]) {
      const e = toSamsaError(cause)
      expect(e).toMatchObject({ errorName: 'KAFKA_STORAGE_ERROR', retriable: true })
      expect(e.message).not.toMatch(/\//)
      expect((e as { cause?: unknown }).cause).toBe(cause)
    }
  })

  it('scrubs unexpected errors, protocol errors, storage-path errors and SamsaErrors, keeping code and details', () => {
    const unknown = toSamsaError(NODE_EMFILE)
    expect(unknown.errorName).toBe('UNKNOWN_SERVER_ERROR')
    expect(unknown.message).toBe("EMFILE: too many open files, open '<path>'")
    expect(toSamsaError(new InvalidStoragePathError('/etc/passwd', 'is absolute')).message).not.toMatch(/etc/)
    expect(toSamsaError(new LogCorruptionError('topics/t/0/00000000000000000000.log', 7, 'CRC mismatch')).message).not.toMatch(/topics|\.log/)
    expect(toSamsaError(new ProtocolError('bad /a/b')).message).toBe('malformed request body: bad <path>')
    const s = toSamsaError(new SamsaError('OFFSET_OUT_OF_RANGE', "read of '/x/y' failed", { logStartOffset: 1 }))
    expect(s).toMatchObject({ errorName: 'OFFSET_OUT_OF_RANGE', message: "read of '<path>' failed", details: { logStartOffset: 1 } })
    const same = new SamsaError('TOPIC_ALREADY_EXISTS', 'topic "t" already exists')
    expect(toSamsaError(same)).toBe(same)
  })
})
