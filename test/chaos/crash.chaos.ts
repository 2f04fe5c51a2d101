// Crash test: clients post moves, receipts and reservations with Idempotency-Keys while the server
// is SIGKILLed several times mid-load and restarted; they retry with the same keys. Afterwards every
// acknowledged effect is present exactly once and every invariant holds. CHAOS_KILLS sets how many kills.
import t from 'tap';
import { freshDatabase } from '../helpers/db.ts';
import { spawnServer, type ServerProcess } from '../helpers/process.ts';
import { mintToken } from '../helpers/auth.ts';
import { runLoad } from './load.ts';
import { verifyAfterChaos } from './verify.ts';
import { seedChaos } from './seed.ts';

const KILLS = Number(process.env.CHAOS_KILLS ?? 4);

t.test(
  'SIGKILL mid-load, restart, clients retry with their keys: nothing lost, nothing twice',
  async (t) => {
    const { url: databaseUrl, sql } = await freshDatabase(t);
    const token = mintToken({ expiresIn: 3600 });
    let server: ServerProcess = await spawnServer(t, databaseUrl);
    const catalogue = await seedChaos(server.url, token);

    // Kill the server 1-2.5 s after each start (so each run serves load before it dies), KILLS times.
    let kills = 0;
    const killer = (async () => {
      while (kills < KILLS) {
        await new Promise((r) => setTimeout(r, 1000 + Math.random() * 1500));
        await server.stop('SIGKILL');
        kills++;
        server = await spawnServer(t, databaseUrl);
      }
      await new Promise((r) => setTimeout(r, 1000));
    })();
    const { attempted, stats } = await runLoad({
      target: () => server.url,
      token,
      clients: 16,
      until: killer,
      ...catalogue,
    });

    t.equal(kills, KILLS, `the server was killed ${kills} times`);
    t.ok(stats.networkErrors > 0, 'clients saw the crashes');
    await verifyAfterChaos(t, sql, attempted, stats, `${kills} SIGKILLs`);
  },
);
