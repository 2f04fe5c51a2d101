import autocannon from 'autocannon';
import { createSigner } from 'fast-jwt';
import { readFileSync } from 'node:fs';
const token = createSigner({ key: readFileSync('/tmp/bench-key.pem', 'utf8'), algorithm: 'ES256', iss: 'https://bench/', aud: 'inventory-api', expiresIn: 3600000 })({ sub: 'b', scope: 'inventory:read inventory:write' });
const r = await autocannon({ url: 'http://127.0.0.1:3999' + process.argv[2], connections: 32, duration: 5, headers: { authorization: `Bearer ${token}` } });
console.log(process.argv[2], 'rps', r.requests.average, 'p99', r.latency.p99, JSON.stringify(r.statusCodeStats));
