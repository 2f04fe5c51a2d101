// Where the machine's CPU went during a measurement, per answer: the server's process (all its
// threads), the bench's PostgreSQL (its postmaster and every child: the backends, and the WAL
// writer, whose fsyncs are the commits; children that exited count through the postmaster's
// cutime), the load generator and the rest (the kernel's interrupts, other processes). With every
// request's CPU known, the ratio a scenario can reach on these cores follows by arithmetic
// (docs/benchmarks.md, "Where the time goes").
import { readFileSync } from 'node:fs';
import { cpuStates } from './steal.ts';

/** The kernel's USER_HZ, 100 on every Linux architecture Node runs on. */
const TICKS_PER_SECOND = 100;

/**
 * CPU seconds so far of one process, all its threads (/proc/PID/stat's utime + stime), and with
 * `reaped` those of its children that exited too (cutime + cstime).
 */
export function processCpuSeconds(stat: string, { reaped = false } = {}): number {
  // Fields after the command name, which may hold spaces and parentheses: utime, stime, cutime and
  // cstime are the 14th to 17th fields of the line, the 12th to 15th after its closing parenthesis.
  const [utime, stime, cutime, cstime] = stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .slice(11, 15)
    .map(Number);
  return (utime + stime + (reaped ? cutime + cstime : 0)) / TICKS_PER_SECOND;
}

/** A process's parent, from its stat line (the 4th field). */
export const parentOf = (stat: string) =>
  Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);

export interface CpuReading {
  server: number;
  /** The postmaster, its live children, and the children it reaped. */
  postgres: number;
  /** Of every CPU, busy or not (/proc/stat), in CPU seconds. */
  machineBusy: number;
  at: number;
}

function readStat(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** The machine's busy CPU seconds: user, nice, system, irq and softirq (not idle, iowait or stolen). */
function machineBusySeconds(): number {
  const states = cpuStates(readStat('/proc/stat') ?? '');
  if (!states) return NaN;
  const [user, nice, system, , , irq, softirq] = states;
  return (user + nice + system + irq + softirq) / TICKS_PER_SECOND;
}

/**
 * The postmaster of a backend (pg_backend_pid()), if that backend is a `postgres` process of this
 * machine: with PostgreSQL elsewhere, the pid may name an unrelated local process, or none.
 */
export function postmasterOf(backendPid: number): number | null {
  const stat = readStat(`/proc/${backendPid}/stat`);
  return stat && commandOf(stat).startsWith('postgres') ? parentOf(stat) : null;
}

const commandOf = (stat: string) => stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));

/**
 * Reads the CPU used so far by the server (pid) and by PostgreSQL (its postmaster's pid; NaN when
 * it is not on this machine). Null without the server's.
 */
export function readCpu(serverPid: number, postmasterPid: number | null): CpuReading | null {
  const server = readStat(`/proc/${serverPid}/stat`);
  if (!server) return null;
  return {
    server: processCpuSeconds(server),
    postgres: postmasterPid === null ? NaN : postgresCpuSeconds(postmasterPid),
    machineBusy: machineBusySeconds(),
    at: performance.now(),
  };
}

/** A postmaster's CPU, its live children's and that of the children it reaped. */
function postgresCpuSeconds(postmasterPid: number): number {
  const postmaster = readStat(`/proc/${postmasterPid}/stat`);
  if (!postmaster) return NaN;
  let postgres = processCpuSeconds(postmaster, { reaped: true });
  const children = readStat(`/proc/${postmasterPid}/task/${postmasterPid}/children`) ?? '';
  for (const child of children.split(' ').filter(Boolean)) {
    const stat = readStat(`/proc/${child}/stat`);
    if (stat) postgres += processCpuSeconds(stat);
  }
  return postgres;
}

/** µs of CPU per answer between two readings, by who used it; `loadGenerator` in CPU seconds. */
export function cpuPerAnswer(
  from: CpuReading,
  to: CpuReading,
  answers: number,
  loadGenerator: number,
): { server: number; postgres: number; loadGenerator: number; rest: number; busy: number } {
  const us = (seconds: number) => (1e6 * seconds) / answers;
  const server = to.server - from.server;
  const postgres = to.postgres - from.postgres;
  const busy = to.machineBusy - from.machineBusy;
  return {
    server: us(server),
    postgres: us(postgres),
    loadGenerator: us(loadGenerator),
    rest: us(busy - server - postgres - loadGenerator),
    busy: us(busy),
  };
}
