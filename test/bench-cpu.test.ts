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
import { busyShares, perfSamples, timeByStage, type CpuProfile } from '../scripts/bench/stages.ts';
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
  // CPU (not of wall time: on a loaded machine it may wait for a core), says so, and lives on until
  // its stdin closes, for a backend.
  const before = readCpu(process.pid, process.pid) as CpuReading;
  t.ok(before, 'readable on Linux');
  const child = spawn(process.execPath, [
    '-e',
    "while (process.cpuUsage().user < 200_000); process.stdout.write('spun'); process.stdin.resume();",
  ]);
  await once(child.stdout, 'data');
  const alive = readCpu(process.pid, process.pid) as CpuReading;
  t.ok(alive.postgres - before.postgres >= 0.1, 'the live child counts');
  child.stdin.end();
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

t.test(
  "the item index: a search's walk is per request, its load start-up, their helpers their caller's",
  async (t) => {
    const index = 'file:///repo/db/item-index.ts';
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: { functionName: '(root)', url: '' }, children: [2, 3] },
        { id: 2, callFrame: { functionName: 'walk', url: index }, children: [4] },
        { id: 3, callFrame: { functionName: 'load', url: index }, children: [5] },
        { id: 4, callFrame: { functionName: 'trigrams', url: index } },
        { id: 5, callFrame: { functionName: 'trigrams', url: index } },
      ],
      samples: [2, 4, 4, 5],
      timeDeltas: [100, 100, 100, 100],
    };
    const time = timeByStage(profile);
    t.equal(time.get('item search (in-memory index)'), 300);
    t.equal(time.get('startup (not per request)'), 100);
    t.notOk(time.has('SQL building (db/)'));
  },
);

t.test(
  "perf's samples: JIT frames by their file, the kernel's and the collector's by name",
  async (t) => {
    const text = [
      '',
      '\t    ffffffff81000000 tcp_sendmsg ([kernel.kallsyms])',
      '\t    7f9c2c42f4d9 JS:*send file:///repo/node_modules/postgres/src/connection.js:1:10 (/tmp/perf-4242.map)',
      '',
      '',
      '\t    fa292b v8::internal::Scavenger::ScavengeObject (/usr/bin/node)',
      '\t    7f9c2c42f4d9 JS:*plan file:///repo/handlers/lib/ledger.ts:1:14772 (/tmp/perf-4242.map)',
      '',
      '',
      '\t    7f9c2c42f4d9 JS:*plan file:///repo/handlers/lib/ledger.ts:1:14772 (/tmp/perf-4242.map)',
      '\t    7f9c2c1f5e05 JS:^apply file:///repo/server/writes/group-commit.ts:1:3220 (/tmp/perf-4242.map)',
      '',
    ].join('\n');
    const time = timeByStage(perfSamples(text));
    t.equal(time.get('kernel (sockets, scheduling)'), 1, "a socket write is the kernel's CPU");
    t.equal(time.get('garbage collection'), 1, "a scavenge on the way is the collector's");
    t.equal(time.get('ledger: planning in memory'), 1);
    t.equal(time.size, 3);
  },
);

t.test('a statement named by its first words, on one line', async (t) => {
  t.equal(statementLabel('  UPDATE  stock_levels\n  SET x = 1', 20), 'UPDATE stock_levels…');
  t.equal(statementLabel('SELECT 1'), 'SELECT 1');
});
