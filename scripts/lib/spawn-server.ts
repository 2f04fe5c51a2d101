// Runs the real server as a child process, as `npm start` does (its Node flags included), and
// resolves once it listens. Used by tests that kill or restart it and by the benchmark.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../server/config.ts';

/** What `npm start` passes to node (`exec node …`): the V8 flags that must precede the script, tsx, the script. */
export function startArgs(): string[] {
  const start: string = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).scripts
    .start;
  const args = start.split(' ');
  if (args[0] !== 'exec' || args[1] !== 'node')
    throw new Error(`npm start should be "exec node …", not ${start}`);
  return args.slice(2);
}

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /** Sends the signal and waits for the process to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** `nodeArgs` go to node before the script (e.g. `--cpu-prof`). */
export async function spawnServerProcess(
  env: Record<string, string>,
  { startTimeoutMs = 30_000, nodeArgs = [] as string[] } = {},
): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...nodeArgs, ...startArgs()], {
    cwd: repoRoot,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`server did not start in ${startTimeoutMs} ms:\n${output}`)),
        startTimeoutMs,
      );
      child.stdout.on('data', () => {
        const match = /listening on (http:\/\/[\d.]+:\d+)/.exec(output);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`server exited (${code}) before listening:\n${output}`));
      });
    });
    return { url, child, output: () => output, stop };
  } catch (err) {
    await stop('SIGKILL');
    throw err;
  }
}
