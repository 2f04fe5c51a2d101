// `npm run bench -- --perf DIR`: Linux perf samples the server's CPU time (every thread, and the
// kernel on its behalf) through each measured window, and the bench prints it by stage of a
// request in µs per answer (stages.ts). V8's own profile (--profile) samples the main thread's
// wall time instead, waiting for a core included; perf counts only what ran. The server runs with
// --perf-basic-prof, so that perf can name the JIT's frames.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { busyShares, perfSamples, timeByStage } from './stages.ts';

export const PERF_NODE_ARGS = ['--perf-basic-prof'];

/** The JIT's symbol map the server wrote for perf (/tmp/perf-PID.map), which grows through a run. */
export function removePerfMap(pid: number | undefined): void {
  if (pid !== undefined) rmSync(`/tmp/perf-${pid}.map`, { force: true });
}

/** Starts sampling process `pid` for `seconds`, into DIR/<name>.perf.data; settles when perf has written it. */
export function recordPerf(dir: string, name: string, pid: number, seconds: number) {
  const file = join(dir, `${name}.perf.data`);
  const perf: ChildProcess = spawn(
    'perf',
    [
      'record',
      '-e',
      'cpu-clock',
      '-F',
      '999',
      '-g',
      '-p',
      String(pid),
      '-o',
      file,
      '--',
      'sleep',
      String(seconds),
    ],
    { stdio: 'ignore' },
  );
  const failed = (why: string) => {
    console.error(`#   --perf: no samples of ${name} (${why})`);
    return null;
  };
  perf.on('error', () => {});
  return once(perf, 'exit').then(
    ([code]) =>
      code === 0
        ? file
        : failed(`perf record exited with ${code}; is perf_event_paranoid above 1?`),
    (err: Error) => failed(err.message),
  );
}

/** The server's CPU by stage, in µs per answer: perf's shares of `serverUs`, the CPU each answer cost it. */
export async function printPerfStages(file: string, serverUs: number): Promise<void> {
  const { stdout } = await promisify(execFile)('perf', ['script', '-F', 'ip,sym,dso', '-i', file], {
    maxBuffer: 1 << 30,
  });
  const shares = busyShares(timeByStage(perfSamples(stdout)));
  console.error(`#   the server's CPU by stage (perf, ${file}), µs per answer:`);
  for (const [stage, share] of shares)
    console.error(
      `#     ${(share * serverUs).toFixed(0).padStart(5)} µs ${(100 * share).toFixed(1).padStart(5)} %  ${stage}`,
    );
}
