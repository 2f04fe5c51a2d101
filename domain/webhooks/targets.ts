// Where a webhook may go. At creation the URL is judged as written (and by what its name resolves
// to now); at delivery the name is resolved again and the connection is pinned to the address that
// was checked, so a DNS answer that changes in between (rebinding) cannot redirect it inward.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { forbiddenAddressReason } from './addresses.ts';

export interface TargetPolicy {
  /** WEBHOOK_ALLOW_PRIVATE=1: any address is fine. */
  allowPrivate: boolean;
  /** https only (NODE_ENV=production). */
  httpsOnly: boolean;
}

export interface UrlProblem {
  code: 'invalid_url' | 'https_required' | 'forbidden_address';
  detail: string;
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Thrown at delivery time when the target resolves to an address webhooks may not reach. */
export class ForbiddenTargetError extends Error {}

const CREATION_LOOKUP_MS = 2000;

/** URL.hostname keeps IPv6 literals in brackets; resolvers and isIP want them bare. */
const bareHost = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, '$1');

// RFC 6761: localhost and *.localhost always mean this machine, whatever a resolver says.
const isLocalhostName = (host: string) => /(^|\.)localhost\.?$/i.test(host);

async function resolveAll(host: string): Promise<ResolvedAddress[]> {
  if (isIP(host)) return [{ address: host, family: isIP(host) as 4 | 6 }];
  const answers = await lookup(host, { all: true, verbatim: true });
  return answers.map((a) => ({ address: a.address, family: a.family as 4 | 6 }));
}

/** The first reason one of the addresses is forbidden, as "<address> is <reason>". */
function refusal(host: string, addresses: ResolvedAddress[]): string | null {
  if (isLocalhostName(host)) return `${host} is the local host`;
  for (const { address } of addresses) {
    const reason = forbiddenAddressReason(address);
    if (reason)
      return address === host
        ? `${address} is a ${reason} address`
        : `${host} resolves to ${address}, a ${reason} address`;
  }
  return null;
}

/** Why this URL cannot be a webhook endpoint, or null. (The spec already insists on http(s) and a valid URI.) */
export async function urlProblem(raw: string, policy: TargetPolicy): Promise<UrlProblem | null> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { code: 'invalid_url', detail: 'This is not a URL a webhook can be sent to.' };
  }
  // Credentials in the URL would be sent to whoever answers at that host, and shown to everyone who
  // may read endpoints; receivers authenticate deliveries by their signature (docs/webhooks.md).
  if (url.username !== '' || url.password !== '') {
    return {
      code: 'invalid_url',
      detail: 'Webhook URLs may not carry a user name or password (user:password@).',
    };
  }
  if (policy.httpsOnly && url.protocol !== 'https:') {
    return { code: 'https_required', detail: 'Webhook URLs must use https.' };
  }
  if (policy.allowPrivate) return null;
  const host = bareHost(url);
  // A name that does not resolve right now is accepted: the check that counts runs at every delivery.
  const addresses = await Promise.race([
    resolveAll(host).catch(() => []),
    new Promise<ResolvedAddress[]>((resolve) =>
      setTimeout(resolve, CREATION_LOOKUP_MS, []).unref(),
    ),
  ]);
  const why = refusal(host, addresses);
  return why === null
    ? null
    : {
        code: 'forbidden_address',
        detail: `Webhooks may not target private, loopback or link-local addresses: ${why}.`,
      };
}

/**
 * The address to connect to for a delivery to `url`: resolved now, every answer checked (one bad
 * answer refuses the lot, so a resolver cannot slip one in among good ones). A URL with
 * credentials is refused whatever the policy, as at creation: endpoints stored before that rule
 * would otherwise keep sending them (Node sends a URL's userinfo as Basic auth).
 */
export async function resolveTarget(
  url: URL,
  policy: Pick<TargetPolicy, 'allowPrivate'>,
): Promise<ResolvedAddress> {
  if (url.username !== '' || url.password !== '')
    throw new ForbiddenTargetError(
      'refused: the URL carries a user name or password (user:password@); replace the endpoint with one without',
    );
  const host = bareHost(url);
  const addresses = await resolveAll(host);
  if (!policy.allowPrivate) {
    const why = refusal(host, addresses);
    if (why) throw new ForbiddenTargetError(`refused: ${why}`);
  }
  return addresses[0];
}
