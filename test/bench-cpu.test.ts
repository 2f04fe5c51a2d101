// The bench's accounts of where the CPU went: per process (/proc), per stage of the server's CPU
// profile, and PostgreSQL's statements named for a table.
import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  cpuPerAnswer,
  parentOf,
  processCpuSeconds,
  readCpu,
  type CpuReading,
} from '../scripts/bench/cpu-use.ts';
import { busyShares, timeByStage, type CpuProfile } from '../scripts/bench/stages.ts';
import { statementLabel } from '../scripts/bench/statements.ts';

t.test("a process's CPU from its stat line, whatever its command name holds", async (t) => {
  // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime …
  const stat = '4242 (postgres: a) b) S 4000 4242 4242 0 -1 4194560 10 0 0 0 250 50 700 100 20 0 1';
  t.equal(processCpuSeconds(stat), 3, 'utime + stime, in ticks of 1/100 s');
  t.equal(processCpuSeconds(stat, { reaped: true }), 11, 'and the children it reaped');
  t.equal(parentOf(stat), 4000);
});

t.test('readCpu counts a live child of the postmaster, and the children it reaped', async (t) => {
  // This process stands in for the server and for the postmaster; a child that spins for 0.2 s of
  // CPU (not of wall time: on a loaded machine it may wait for a core) for a backend.
  const child = spawn(process.execPath, ['-e', 'while (process.cpuUsage().user < 200_000);']);
  const before = readCpu(process.pid, process.pid) as CpuReading;
  t.ok(before, 'readable on Linux');
  await once(child, 'exit');
  const after = readCpu(process.pid, process.pid) as CpuReading;
  t.ok(after.postgres - before.postgres >= 0.1, 'the exited child still counts (cutime)');
  const per = cpuPerAnswer(before, after, 10, 0);
  t.equal(per.server, (1e6 * (after.server - before.server)) / 10, 'µs per answer');
});

t.test('a profile by stage: native frames go to the stage of their caller', async (t) => {
  const frame = (functionName: string, url = '') => ({ functionName, url });
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame('(root)'), children: [2, 3, 6, 7] },
      { id: 2, callFrame: frame('post', 'file:///repo/handlers/lib/ledger.ts'), children: [4] },
      {
        id: 3,
        callFrame: frame('send', 'file:///repo/node_modules/postgres/src/connection.js'),
        children: [5],
      },
      { id: 4, callFrame: frame('stringify') },
      { id: 5, callFrame: frame('writeBuffer') },
      { id: 6, callFrame: frame('(idle)') },
      { id: 7, callFrame: frame('(garbage collector)') },
    ],
    samples: [2, 4, 4, 5, 6, 6, 6, 7],
    timeDeltas: [100, 100, 100, 100, 100, 100, 100, 100],
  };
  const time = timeByStage(profile);
  t.equal(
    time.get('ledger: planning in memory'),
    300,
    "JSON.stringify called by the ledger is the ledger's",
  );
  t.equal(time.get('PostgreSQL socket writes'), 100);
  t.equal(time.get('idle'), 300);
  const shares = new Map(busyShares(time));
  t.notOk(shares.has('idle'), 'shares are of the busy time');
  t.equal(shares.get('ledger: planning in memory'), 0.6);
  t.equal(shares.get('garbage collection'), 0.2);
});

t.test('a statement named by its first words, on one line', async (t) => {
  t.equal(statementLabel('  UPDATE  stock_levels\n  SET x = 1', 20), 'UPDATE stock_levels…');
  t.equal(statementLabel('SELECT 1'), 'SELECT 1');
});
