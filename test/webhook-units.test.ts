// The webhook building blocks on their own: which addresses are refused, the signature against the
// Standard Webhooks reference vector, the retry schedule, and URL checks at creation.
import t from 'tap';
import { embeddedIpv4, forbiddenAddressReason } from '../domain/webhooks/addresses.ts';
import { signatureHeader, newSecret } from '../domain/webhooks/signature.ts';
import { MAX_RETRY_AFTER_S, parseRetryAfter, retryDelay } from '../server/webhooks/backoff.ts';
import { urlProblem } from '../domain/webhooks/targets.ts';
import { signersOf } from './helpers/webhooks.ts';

t.test(
  'refused addresses: loopback, private, link-local, unique-local, CGNAT, metadata, IPv4 inside IPv6',
  async (t) => {
    const refused = [
      '127.0.0.1',
      '127.255.0.9',
      '0.0.0.0',
      '10.0.0.1',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '100.64.0.1',
      '169.254.169.254',
      '100.100.100.200',
      '168.63.129.16',
      '224.0.0.1',
      '255.255.255.255',
      '198.18.0.1',
      '::1',
      '::',
      '[::1]',
      'fe80::1',
      'fd00:ec2::254',
      'fc00::1',
      'ff02::1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '::ffff:10.0.0.1',
      '::ffff:169.254.169.254',
      '64:ff9b::10.0.0.1',
      '::127.0.0.1',
    ];
    for (const address of refused)
      t.ok(
        forbiddenAddressReason(address),
        `${address} refused (${forbiddenAddressReason(address)})`,
      );
    const allowed = [
      '8.8.8.8',
      '1.1.1.1',
      '172.32.0.1',
      '100.128.0.1',
      '2606:4700:4700::1111',
      '::ffff:8.8.8.8',
      '64:ff9b::8.8.8.8',
    ];
    for (const address of allowed)
      t.equal(forbiddenAddressReason(address), null, `${address} allowed`);
    t.equal(forbiddenAddressReason('example.com'), 'not an IP address');
  },
);

t.test('IPv6 transition forms are judged by the IPv4 address they carry', async (t) => {
  // [form, an address carrying loopback or a private address, one carrying a public address]
  const forms: [string, string, string, string, string][] = [
    ['6to4', '2002:7f00:1::', '127.0.0.1', '2002:0808:0808::', '8.8.8.8'],
    ['6to4', '2002:a00:5:1::1', '10.0.0.5', '2002:101:101:1::1', '1.1.1.1'],
    ['IPv4-mapped', '::ffff:7f00:1', '127.0.0.1', '::ffff:808:808', '8.8.8.8'],
    ['IPv4-mapped', '::ffff:127.0.0.1', '127.0.0.1', '::ffff:8.8.8.8', '8.8.8.8'],
    ['IPv4-translated', '::ffff:0:7f00:1', '127.0.0.1', '::ffff:0:808:808', '8.8.8.8'],
    [
      'IPv4-translated',
      '::ffff:0:169.254.169.254',
      '169.254.169.254',
      '::ffff:0:1.1.1.1',
      '1.1.1.1',
    ],
    ['NAT64', '64:ff9b::7f00:1', '127.0.0.1', '64:ff9b::808:808', '8.8.8.8'],
    // Teredo: 2001:0:<server IPv4>:<flags>:<port>:<client IPv4, every bit inverted>
    [
      'Teredo',
      '2001:0:4136:e378:8000:63bf:80ff:fffe',
      '127.0.0.1',
      '2001:0:4136:e378:8000:63bf:f7f7:f7f7',
      '8.8.8.8',
    ],
    ['Teredo', '2001::f5ff:fffa', '10.0.0.5', '2001::fefe:fefe', '1.1.1.1'],
  ];
  for (const [form, refused, inside, allowed, publicInside] of forms) {
    t.strictSame(embeddedIpv4(refused), { ipv4: inside, form }, `${refused} carries ${inside}`);
    t.ok(
      forbiddenAddressReason(refused),
      `${refused} refused (${forbiddenAddressReason(refused)})`,
    );
    t.ok(forbiddenAddressReason(`[${refused}]`), `[${refused}] refused too`);
    t.strictSame(
      embeddedIpv4(allowed),
      { ipv4: publicInside, form },
      `${allowed} carries ${publicInside}`,
    );
    t.equal(forbiddenAddressReason(allowed), null, `${allowed} allowed, as ${publicInside} is`);
  }
  t.equal(
    forbiddenAddressReason('2002:7f00:1::'),
    'loopback (127.0.0.1 inside 6to4)',
    'the reason names the address inside',
  );
  for (const address of ['::', '::1', '2606:4700:4700::1111', 'fe80::1', '2001:db8::1'])
    t.equal(embeddedIpv4(address), null, `${address} carries no IPv4 address`);
});

t.test(
  'the IPv6 loopback and unspecified addresses are judged as such, however written',
  async (t) => {
    for (const [address, reason] of [
      ['::1', 'loopback'],
      ['0:0:0:0:0:0:0:1', 'loopback'],
      ['0000:0000:0000:0000:0000:0000:0000:0001', 'loopback'],
      ['::0.0.0.1', 'loopback'],
      ['[0:0:0:0:0:0:0:1]', 'loopback'],
      ['::', 'unspecified'],
      ['0:0:0:0:0:0:0:0', 'unspecified'],
      ['::0.0.0.0', 'unspecified'],
    ]) {
      t.equal(
        embeddedIpv4(address.replace(/^\[(.*)\]$/, '$1')),
        null,
        `${address}: no IPv4 inside`,
      );
      t.equal(forbiddenAddressReason(address), reason, `${address} is ${reason}`);
    }
    t.equal(
      forbiddenAddressReason('::0.0.0.2'),
      'this-network (0.0.0.2 inside IPv4-compatible)',
      'other IPv4-compatible addresses still carry their IPv4 address',
    );
  },
);

t.test(
  'local-use NAT64 (64:ff9b:1::/48) is refused whole, wherever its IPv4 address sits',
  async (t) => {
    // RFC 6052 §2.2: with a /48 prefix the IPv4 address is bits 48..87 around the u octet, so
    // 64:ff9b:1:0a00:0:100:808:808 translates to 10.0.0.1, and the last 32 bits say nothing.
    for (const address of [
      '64:ff9b:1:0a00:0:100:808:808',
      '64:ff9b:1:7f00:0:100::',
      '64:ff9b:1::808:808',
      '64:ff9b:1::7f00:1',
      '64:ff9b:1:ffff:ffff:ffff:ffff:ffff',
      '[64:ff9b:1::808:808]',
    ])
      t.equal(forbiddenAddressReason(address), 'local-use NAT64', `${address} refused`);
    t.equal(
      forbiddenAddressReason('64:ff9b::808:808'),
      null,
      'the well-known NAT64 prefix is judged by the IPv4 inside',
    );
    t.equal(forbiddenAddressReason('64:ff9b:2::808:808'), null, 'outside the /48');
  },
);

t.test('signatures match the Standard Webhooks reference vector', async (t) => {
  // From the Standard Webhooks reference libraries' tests.
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  t.equal(
    signatureHeader([secret], 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}'),
    'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
  );
  const other = newSecret();
  t.match(other, /^whsec_[A-Za-z0-9+/=]{43,}$/);
  t.ok(Buffer.from(other.slice(6), 'base64').length >= 24, 'at least 24 random bytes');
  const now = Math.floor(Date.now() / 1000);
  const header = signatureHeader([secret, other], 'evt_1', now, '{}');
  t.equal(header.split(' ').length, 2, 'one signature per secret, space-separated');
  const request = {
    headers: {
      'webhook-id': 'evt_1',
      'webhook-timestamp': String(now),
      'webhook-signature': header,
    },
    body: '{}',
  };
  t.same(
    signersOf(request, [secret, other, newSecret()]),
    [secret, other],
    'the independent verifier accepts both, and only those',
  );
  t.same(
    signersOf({ ...request, body: '{ }' }, [secret, other]),
    [],
    'a changed body verifies with neither',
  );
});

t.test('retry delays follow the schedule with jitter, honour Retry-After, and end', async (t) => {
  const schedule = [5, 300, 1800];
  t.equal(
    retryDelay(1, schedule, undefined, () => 0.5),
    5,
    'no jitter at the midpoint',
  );
  t.equal(
    retryDelay(2, schedule, undefined, () => 0),
    240,
    '-20%',
  );
  t.equal(Math.round(retryDelay(3, schedule, undefined, () => 1)!), 2160, '+20%');
  t.equal(retryDelay(4, schedule), null, 'n delays allow n + 1 attempts');
  t.equal(
    retryDelay(1, schedule, 120, () => 0.5),
    120,
    'Retry-After longer than the schedule wins',
  );
  t.equal(
    retryDelay(2, schedule, 1, () => 0.5),
    300,
    'a shorter one does not hurry the schedule',
  );
  t.equal(
    retryDelay(1, schedule, 10 * MAX_RETRY_AFTER_S, () => 0.5),
    MAX_RETRY_AFTER_S,
    'capped at a day',
  );
  t.equal(parseRetryAfter('120'), 120);
  t.equal(
    parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:27:00 GMT')),
    60,
  );
  t.equal(parseRetryAfter('soon'), undefined);
  t.equal(parseRetryAfter(undefined), undefined);
});

t.test('URL checks at creation', async (t) => {
  const strict = { allowPrivate: false, httpsOnly: true };
  t.equal((await urlProblem('http://example.com/hook', strict))?.code, 'https_required');
  for (const url of [
    'https://127.0.0.1/x',
    'https://[::1]/x',
    'https://[::ffff:127.0.0.1]/x',
    'https://10.1.2.3/',
    'https://169.254.169.254/latest',
    'https://2130706433/',
    'https://0x7f.1/',
    'https://localhost/x',
    'https://api.localhost/x',
    'https://[2002:7f00:1::]/x',
    'https://[::ffff:0:7f00:1]/x',
    'https://[64:ff9b::7f00:1]/x',
    'https://[64:ff9b:1::a00:1]/x',
    'https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/x',
  ]) {
    t.equal((await urlProblem(url, strict))?.code, 'forbidden_address', url);
  }
  t.equal(await urlProblem('https://8.8.8.8/hook', strict), null, 'public literal');
  t.equal(await urlProblem('https://[2002:808:808::]/hook', strict), null, 'public 6to4 literal');
  for (const url of [
    'https://user:secret@8.8.8.8/hook',
    'https://user@8.8.8.8/hook',
    'https://:secret@8.8.8.8/hook',
  ]) {
    t.equal((await urlProblem(url, strict))?.code, 'invalid_url', `credentials: ${url}`);
    t.equal(
      (await urlProblem(url, { allowPrivate: true, httpsOnly: false }))?.code,
      'invalid_url',
      `credentials even with WEBHOOK_ALLOW_PRIVATE=1: ${url}`,
    );
  }
  t.equal(
    await urlProblem('http://127.0.0.1:9/x', { allowPrivate: true, httpsOnly: false }),
    null,
    'WEBHOOK_ALLOW_PRIVATE=1',
  );
  t.equal(
    (await urlProblem('http://127.0.0.1:9/x', { allowPrivate: true, httpsOnly: true }))?.code,
    'https_required',
    'https stays required in production',
  );
});
