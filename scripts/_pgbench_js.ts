import { createSql } from '../db/client.ts';
const sql = createSql('postgres://postgres@127.0.0.1:55432/inventory_bench', { max: 4 });
await sql`select 1`;
for (const label of ['simple', 'items', 'pipelined5']) {
  const N = 2000; const c0 = process.cpuUsage(); const t0 = performance.now();
  await sql.begin(async (tx) => {
    for (let i = 0; i < N; i++) {
      if (label === 'simple') await tx`select ${i}::int as x`;
      else if (label === 'items') await tx`SELECT id, sku, name, uom, track_by, active, version, created_at, updated_at FROM items WHERE id = ANY(${['item-' + (i % 100 + 1)]}::text[])`;
      else if (i % 5 === 0) await Promise.all([0,1,2,3,4].map((j) => tx`select ${i + j}::int as x`));
    }
  });
  const c = process.cpuUsage(c0);
  console.log(label, 'wall µs/query', ((performance.now() - t0) * 1000 / N).toFixed(0), 'cpu µs/query', ((c.user + c.system) / N).toFixed(0));
}
await sql.end();
