// The bench reports how much CPU time the hypervisor took (steal) beside each measurement.
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  parseCpuTicks,
  readCpuTicks,
  StealMeter,
  stolenShare,
  type CpuTicks,
} from '../scripts/bench/steal.ts';

t.test("the totals of /proc/stat's first line: all eight states, steal the eighth", async (t) => {
  const text = 'cpu  100 5 30 800 10 0 15 40 7 0\ncpu0 50 2 15 400 5 0 7 20 3 0\nintr 1 2 3\n';
  t.strictSame(
    parseCpuTicks(text),
    { total: 1000, steal: 40 },
    'guest time (already in user) is not counted twice',
  );
  t.equal(
    parseCpuTicks('cpu  1 2 3\n'),
    null,
    'too few fields (a kernel without steal accounting)',
  );
  t.equal(parseCpuTicks('intr 1 2 3\n'), null, 'no cpu line');
});

t.test('the share stolen between two readings', async (t) => {
  t.equal(stolenShare({ total: 1000, steal: 40 }, { total: 1200, steal: 90 }), 0.25);
  t.equal(stolenShare({ total: 1000, steal: 40 }, { total: 1200, steal: 40 }), 0);
  t.ok(Number.isNaN(stolenShare(null, { total: 1, steal: 0 })), 'unknown without a reading');
  t.ok(
    Number.isNaN(stolenShare({ total: 5, steal: 0 }, { total: 5, steal: 0 })),
    'unknown when no time passed',
  );
});

t.test('the meter: each second apart, and the whole', async (t) => {
  // A machine whose hypervisor takes 10 ticks of 200 in the first second and 50 of 200 after.
  const readings: CpuTicks[] = [
    { total: 0, steal: 0 },
    { total: 200, steal: 10 },
    { total: 400, steal: 60 },
  ];
  let next = 0;
  const meter = new StealMeter(() => readings[Math.min(next++, readings.length - 1)]);
  meter.start();
  await sleep(1100);
  const { overall, perSecond } = meter.stop();
  t.strictSame(perSecond, [0.05], 'one whole second sampled');
  t.equal(overall, 0.15, 'start to stop');
  t.strictSame(new StealMeter().stop(), { overall: NaN, perSecond: [] }, 'never started: unknown');
});

t.test(
  'on Linux, the real /proc/stat reads',
  { skip: process.platform !== 'linux' && 'no /proc/stat' },
  async (t) => {
    const ticks = readCpuTicks();
    t.ok(ticks && ticks.total > 0 && ticks.steal >= 0 && ticks.steal <= ticks.total);
  },
);
