// CPU time of this process and of a child (Linux /proc), to show which side of a run was saturated.
import { readFileSync } from 'node:fs'

const TICKS_PER_SEC = 100 // CLK_TCK on Linux

/** user+system CPU ms of a process id, or null where /proc is unavailable. */
export function processCpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // fields[0] is field 3 (state); utime is field 14, stime field 15
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SEC
  } catch {
    return null
  }
}

/** System (kernel) CPU ms of a process id, or null. */
export function processSystemCpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[12]) * 1000) / TICKS_PER_SEC
  } catch {
    return null
  }
}

/** Busy CPU ms summed over all cores (Linux /proc/stat), or null. */
export function machineBusyMs() {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]
    const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number)
    return ((user + nice + system + irq + softirq + steal) * 1000) / TICKS_PER_SEC
  } catch {
    return null
  }
}

export function selfCpuMs() {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

/** CPU ms summed over several pids (a cluster's nodes), or null if any is unreadable. */
function pidsCpuMs(pids) {
  let sum = 0
  for (const pid of pids) {
    const ms = processCpuMs(pid)
    if (ms === null) return null
    sum += ms
  }
  return sum
}

/**
 * Starts a CPU meter for this process and optionally the server side: one child pid, or an array of pids (the nodes
 * of a cluster, summed); stop() gives % of one core each since start.
 */
export function cpuMeter(childPid) {
  const pids = childPid === undefined || childPid === null ? [] : [childPid].flat()
  const wall0 = performance.now()
  const self0 = selfCpuMs()
  const child0 = pids.length ? pidsCpuMs(pids) : null
  const childSys0 = pids.length === 1 ? processSystemCpuMs(pids[0]) : null
  const machine0 = machineBusyMs()
  return {
    stop() {
      const elapsedMs = performance.now() - wall0
      const self = selfCpuMs() - self0
      const childNow = child0 === null ? null : pidsCpuMs(pids)
      const child = childNow === null ? null : childNow - child0
      const childSysNow = childSys0 === null ? null : processSystemCpuMs(pids[0])
      const machine = machine0 === null ? null : machineBusyMs() - machine0
      return {
        /** CPU used by processes other than the bench and its server during the run (noise), % of one core. */
        otherCpuPct: machine === null ? null : Math.max(0, Math.round(((machine - self - (child ?? 0)) / elapsedMs) * 100)),
        clientCpuMs: Math.round(self),
        serverCpuMs: child === null ? null : Math.round(child),
        /** The part of serverCpuMs spent in the kernel (syscalls: socket and file writes, fsync), one server process only. */
        serverSystemCpuMs: childSysNow === null ? null : Math.round(childSysNow - childSys0),
        clientCpuPct: Math.round((self / elapsedMs) * 100),
        serverCpuPct: child === null ? null : Math.round((child / elapsedMs) * 100),
      }
    },
  }
}
