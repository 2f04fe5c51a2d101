import autocannon from 'autocannon';
const t0 = process.cpuUsage();
const r = await autocannon({ url: 'http://127.0.0.1:3999/healthz', connections: 64, duration: 5 });
const cpu = process.cpuUsage(t0);
console.log('healthz rps', r.requests.average, 'client cpu s', (cpu.user + cpu.system) / 1e6);
