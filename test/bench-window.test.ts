// The bench's measured window: only the answers after the warm-up count, latency percentiles are
// of the 2xx answers, and every status and failure is accounted for.
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { MeasuredWindow, percentile } from '../scripts/bench/window.ts';

t.test('percentile is the smallest value with at least that fraction at or below it', async (t) => {
  const values = Array.from({ length: 100 }, (_, i) => i + 1);
  t.equal(percentile(values, 0.5), 50);
  t.equal(percentile(values, 0.99), 99);
  t.equal(percentile(values, 1), 100);
  t.equal(percentile([7], 0.99), 7);
  t.ok(Number.isNaN(percentile([], 0.5)), 'no answers, no percentile');
});

t.test(
  'answers before the window opens are not counted; those inside are, by status',
  async (t) => {
    const window = new MeasuredWindow(performance.now(), 0.1, 10);
    window.answered(201, 500); // warm-up: ignored
    window.failed(new Error('request timed out'));
    await sleep(150);
    for (let ms = 1; ms <= 100; ms++) window.answered(201, ms);
    window.answered(409, 1000); // an expected refusal: counted, but not in the 2xx latencies
    window.failed(new Error('request timed out'));
    window.failed(new Error('socket hang up'));
    const summary = window.summary();
    t.equal(summary.p50, 50);
    t.equal(
      summary.p99,
      99,
      'the warm-up answer (500 ms) and the 409 (1,000 ms) are not in the percentiles',
    );
    t.strictSame(
      [...summary.statuses],
      [
        [201, 100],
        [409, 1],
      ],
    );
    t.equal(summary.timeouts, 1, 'the timeout inside the window');
    t.equal(summary.errors, 1, 'the connection error inside the window');
    t.ok(Math.abs(summary.rps - 101 / 9.9) < 1e-9, 'answers per second of the window');
    const [first, ...rest] = window.timeline();
    t.equal(first.second, 0);
    t.equal(first.answers, 101);
    t.equal(first.max, 1000);
    t.equal(rest.length, 0);
  },
);

t.test('answers after the window closes are not counted', async (t) => {
  const window = new MeasuredWindow(performance.now(), 0, 0.05);
  window.answered(200, 3);
  await sleep(80);
  window.answered(200, 4);
  window.failed(new Error('socket hang up'));
  const summary = window.summary();
  t.strictSame([...summary.statuses], [[200, 1]]);
  t.equal(summary.errors, 0);
});
