// Multi-instance: three server processes on one PostgreSQL (and one Redis) under the same
// load: invariants hold, idempotency holds across instances, rate limits are shared.
import t from 'tap';
import { freshDatabase } from '../helpers/db.ts';
import { spawnServer } from '../helpers/process.ts';
import { startRedis } from '../helpers/redis.ts';
import { missingTool } from '../helpers/tools.ts';
import { mintToken } from '../helpers/auth.ts';
import { runLoad } from './load.ts';
import { verifyAfterChaos } from './verify.ts';
import { ITEMS, seedChaos } from './seed.ts';

const SECONDS = Number(process.env.CHAOS_SECONDS ?? 10);

t.test('three instances, one database, one Redis', async (t) => {
  const redisUrl = await startRedis(t);
  if (!redisUrl) {
    return missingTool(
      t,
      'redis-server is not installed (Debian: apt-get install redis-server); .ci/run installs it',
    );
  }
  const { url: databaseUrl, sql } = await freshDatabase(t);
  const servers = await Promise.all(
    [1, 2, 3].map(() =>
      spawnServer(t, databaseUrl, { REDIS_URL: redisUrl, RATE_LIMIT_MAX: '1000000' }),
    ),
  );
  const token = mintToken({ expiresIn: 3600 });
  const catalogue = await seedChaos(servers[0].url, token);

  t.test('the same Idempotency-Key sent to all three at once executes once', async (t) => {
    for (let i = 0; i < 10; i++) {
      const key = `across-${i}`;
      const responses = await Promise.all(
        servers.map((s) =>
          fetch(`${s.url}/inventory/stock-moves`, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${token}`,
              'content-type': 'application/json',
              'idempotency-key': key,
            },
            body: JSON.stringify({
              type: 'TRANSFER',
              from_wh: 'WH-A',
              to_wh: 'WH-B',
              lines: [{ item_id: ITEMS[i], qty: 1 }],
            }),
          }),
        ),
      );
      const bodies = await Promise.all(responses.map((r) => r.json()));
      t.strictSame(
        responses.map((r) => r.status),
        [201, 201, 201],
        key,
      );
      t.equal(
        new Set(bodies.map((b) => b.id)).size,
        1,
        `${key}: one move, three identical answers`,
      );
      t.equal(responses.filter((r) => r.headers.get('idempotent-replayed') === 'true').length, 2);
      const [{ n }] =
        await sql`SELECT count(*)::int AS n FROM stock_moves WHERE idempotency_key = ${key}`;
      t.equal(n, 1);
    }
  });

  t.test('load spread over the instances keeps every invariant', async (t) => {
    const { attempted, stats } = await runLoad({
      target: (attempt) => servers[attempt % servers.length].url,
      token,
      clients: 24,
      until: new Promise((r) => setTimeout(r, SECONDS * 1000)),
      ...catalogue,
    });
    await verifyAfterChaos(t, sql, attempted, stats, '3 instances, requests round-robin');
  });
});

t.test('rate limits are shared between instances through Redis', async (t) => {
  const redisUrl = await startRedis(t);
  if (!redisUrl) {
    return missingTool(t, 'redis-server is not installed (Debian: apt-get install redis-server)');
  }
  const { url: databaseUrl } = await freshDatabase(t);
  const servers = await Promise.all(
    [1, 2, 3].map(() =>
      spawnServer(t, databaseUrl, {
        REDIS_URL: redisUrl,
        RATE_LIMIT_MAX: '10',
        RATE_LIMIT_WINDOW_S: '60',
      }),
    ),
  );
  const token = mintToken({ client_id: 'shared-quota' });
  const statuses: number[] = [];
  for (let i = 0; i < 15; i++)
    statuses.push(
      (
        await fetch(`${servers[i % 3].url}/inventory/items`, {
          headers: { authorization: `Bearer ${token}` },
        })
      ).status,
    );
  t.equal(
    statuses.filter((s) => s === 200).length,
    10,
    'a quota of 10 across three instances: 10 served',
  );
  t.equal(statuses.filter((s) => s === 429).length, 5, 'and 5 refused');
  const other = await fetch(`${servers[0].url}/inventory/items`, {
    headers: { authorization: `Bearer ${mintToken({ client_id: 'another' })}` },
  });
  t.equal(other.status, 200, 'another client is unaffected');
});
