// Which IP addresses a webhook may never be sent to (SSRF, docs/standards.md §8): anything that reaches the
// server's own host, its private network or a cloud metadata service instead of a partner on the
// internet. Used on the URL at creation and on every resolved address at delivery time.
import { BlockList, isIP } from 'node:net';

// [network, prefix length, why] — the reason ends up in the 422 detail or the delivery's last_error.
const IPV4: [string, number, string][] = [
  ['0.0.0.0', 8, 'this-network'], // 0.0.0.0 connects to the local host on Linux
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'carrier-grade NAT'], // also Alibaba Cloud's metadata service, 100.100.100.200
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'], // AWS/GCP/Azure/OpenStack metadata at 169.254.169.254
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.88.99.0', 24, '6to4 relay'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'], // includes 255.255.255.255
  ['168.63.129.16', 32, 'cloud metadata'], // Azure's host endpoint, a public address
];

const IPV6: [string, number, string][] = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['100::', 64, 'discard-only'],
  ['2001:db8::', 32, 'documentation'],
  // RFC 8215 local-use NAT64: translated by the operator's own NAT64, and not globally reachable
  // (IANA). Where it carries its IPv4 address depends on the prefix length the operator chose
  // (RFC 6052 §2.2), so no one position can be judged: the whole /48 is refused.
  ['64:ff9b:1::', 48, 'local-use NAT64'],
  ['fc00::', 7, 'unique-local'], // includes AWS's IPv6 metadata service fd00:ec2::254
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'site-local'],
  ['ff00::', 8, 'multicast'],
];

// IPv6 transition forms: each carries an IPv4 address and delivers to it, so each is judged by that
// address (::ffff:127.0.0.1 is loopback, 2002:0808:0808:: as good as 8.8.8.8). [network, prefix
// length, name, where the IPv4 address sits in the 16 bytes]. docs/standards.md §8.
const last32 = (b: Buffer) => [b[12], b[13], b[14], b[15]];
const TRANSITION_FORMS: [string, number, string, (bytes: Buffer) => number[]][] = [
  ['::ffff:0:0', 96, 'IPv4-mapped', last32], // RFC 4291
  ['::ffff:0:0:0', 96, 'IPv4-translated', last32], // RFC 2765 (SIIT)
  ['::', 96, 'IPv4-compatible', last32], // RFC 4291, deprecated; :: and ::1 excepted below
  ['64:ff9b::', 96, 'NAT64', last32], // RFC 6052 well-known prefix, always /96
  ['2002::', 16, '6to4', (b) => [b[2], b[3], b[4], b[5]]], // RFC 3056: 2002:AABB:CCDD::
  // RFC 4380: the client's IPv4 address is the last 32 bits, each bit inverted.
  ['2001::', 32, 'Teredo', (b) => last32(b).map((byte) => byte ^ 0xff)],
];

function listOf(ranges: [string, number, string?][], type: 'ipv4' | 'ipv6'): BlockList {
  const list = new BlockList();
  for (const [network, prefix] of ranges) list.addSubnet(network, prefix, type);
  return list;
}

const transitionForms = TRANSITION_FORMS.map(([network, prefix, name, ipv4]) => ({
  list: listOf([[network, prefix]], 'ipv6'),
  name,
  ipv4,
}));
const ipv4Ranges = IPV4.map(([network, prefix, why]) => ({
  list: listOf([[network, prefix]], 'ipv4'),
  why,
}));
const ipv6Ranges = IPV6.map(([network, prefix, why]) => ({
  list: listOf([[network, prefix]], 'ipv6'),
  why,
}));

/** The 16 bytes of an IPv6 address (which isIP has already accepted). */
function ipv6Bytes(address: string): Buffer {
  let text = address.replace(/%.*$/, ''); // zone id
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number);
    // The dotted IPv4 tail as the last two groups.
    const hex = `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
    text = `${text.slice(0, dotted.index)}${hex}`;
  }
  const [head, tail] = text.split('::');
  const groups = (part: string | undefined) => (part ? part.split(':') : []);
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  const bytes = Buffer.alloc(16);
  all.forEach((group, i) => {
    bytes.writeUInt16BE(parseInt(group, 16), i * 2);
  });
  return bytes;
}

/**
 * The IPv4 address an IPv6 transition form (IPv4-mapped, IPv4-translated, IPv4-compatible, NAT64
 * 64:ff9b::/96, 6to4, Teredo) carries, with the form's name; null for any other address. `ip` is a bare IPv6
 * address that isIP accepted. The one place these forms are recognized: forbiddenAddressReason
 * judges what it returns by the IPv4 rules.
 */
export function embeddedIpv4(ip: string): { ipv4: string; form: string } | null {
  const bytes = ipv6Bytes(ip);
  // The IPv6 unspecified and loopback addresses, however written (`0:0:0:0:0:0:0:1`, `::0.0.0.1`),
  // are not IPv4-compatible forms: the IPv6 rules judge them.
  if (bytes.subarray(0, 15).every((b) => b === 0) && bytes[15] <= 1) return null;
  const form = transitionForms.find((f) => f.list.check(ip, 'ipv6'));
  return form ? { ipv4: form.ipv4(bytes).join('.'), form: form.name } : null;
}

/**
 * Why `address` (an IP literal, IPv4 or IPv6, brackets allowed) must not receive webhooks, or null
 * when it is an ordinary public address. A string that is not an IP address is refused too.
 */
export function forbiddenAddressReason(address: string): string | null {
  const ip = address.replace(/^\[(.*)\]$/, '$1');
  const family = isIP(ip);
  if (family === 4) return ipv4Ranges.find((r) => r.list.check(ip, 'ipv4'))?.why ?? null;
  if (family !== 6) return 'not an IP address';
  const embedded = embeddedIpv4(ip);
  if (embedded) {
    const reason = forbiddenAddressReason(embedded.ipv4);
    return reason && `${reason} (${embedded.ipv4} inside ${embedded.form})`;
  }
  return ipv6Ranges.find((r) => r.list.check(ip, 'ipv6'))?.why ?? null;
}
