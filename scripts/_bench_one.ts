import autocannon from 'autocannon';
import { createSigner } from 'fast-jwt';
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
const key = readFileSync('/tmp/bench-key.pem', 'utf8');
const token = createSigner({ key, algorithm: 'ES256', iss: 'https://bench/', aud: 'inventory-api', expiresIn: 3600000 })({ sub: 'b', scope: 'inventory:read inventory:write' });
const mode = process.argv[2] ?? 'transfer';
const WH = ['WH-1', 'WH-2', 'WH-3'];
const r = await autocannon({ url: 'http://127.0.0.1:3999', connections: 64, duration: Number(process.argv[3] ?? 8),
  requests: [{ method: 'POST', path: '/inventory/stock-moves', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    setupRequest: (req: any) => { const from = WH[Math.floor(Math.random() * 3)]; const to = WH.filter((w) => w !== from)[Math.floor(Math.random() * 2)];
      req.body = JSON.stringify(mode === 'hot' ? { type: 'ISSUE', from_wh: 'WH-1', lines: [{ item_id: 'item-hot', qty: 1 }] } : { type: 'TRANSFER', from_wh: from, to_wh: to, lines: [{ item_id: `item-${1 + Math.floor(Math.random() * 10000)}`, qty: 1 }] });
      req.headers = { ...req.headers, 'idempotency-key': randomUUID() }; return req; } }] } as any);
const cpu = process.cpuUsage(); console.log("client cpu s", (cpu.user + cpu.system) / 1e6);
console.log(mode, 'rps', r.requests.average, 'p50', r.latency.p50, 'p99', r.latency.p99, JSON.stringify(r.statusCodeStats));
