import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * SSRF guard for outbound steps (API.md section 5): which addresses a request may go to.
 * Pure functions over strings; the DNS side lives in `guarded-lookup.ts`.
 */

type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Cidr = [Address, number];

/** Parsed `OUTBOUND_ALLOW`: address ranges, exact host names and `*.` suffixes (all lower case). */
export interface AllowList {
  readonly cidrs: readonly Cidr[];
  readonly hosts: ReadonlySet<string>;
  /** `*.example.com` is stored as `.example.com`. */
  readonly hostSuffixes: readonly string[];
}

/** Short names used in error messages. */
export type BlockedRange =
  | 'loopback'
  | 'private'
  | 'linkLocal'
  | 'uniqueLocal'
  | 'siteLocal'
  | 'multicast'
  | 'unspecified'
  | 'broadcast'
  | 'carrierGradeNat'
  | 'reserved';

export type AddressClass = { public: true } | { public: false; range: BlockedRange };

export type TargetCheck = { ok: true } | { ok: false; reason: string };

export const EMPTY_ALLOW_LIST: AllowList = { cidrs: [], hosts: new Set(), hostSuffixes: [] };

const HOST_LABEL = '[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?';
const HOST_NAME = new RegExp(`^${HOST_LABEL}(?:\\.${HOST_LABEL})*$`);

/** Parse a comma-separated list of CIDRs, single IPs and host names (`*.example.com` for subdomains). */
export function parseAllowList(text: string): AllowList {
  const cidrs: Cidr[] = [];
  const hosts = new Set<string>();
  const hostSuffixes: string[] = [];
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const cidr = parseCidrEntry(entry);
    if (cidr) {
      cidrs.push(cidr);
      continue;
    }
    const name = normalizeHost(entry);
    const wildcard = name.startsWith('*.');
    const bare = wildcard ? name.slice(2) : name;
    if (!HOST_NAME.test(bare) || bare.length > 253) throw malformedEntry(entry);
    if (wildcard) hostSuffixes.push(`.${bare}`);
    else hosts.add(bare);
  }
  return { cidrs, hosts, hostSuffixes };
}

function malformedEntry(entry: string): Error {
  return new Error(
    `OUTBOUND_ALLOW: "${entry}" is not a CIDR (10.0.0.0/8, fd00::/8), an IP address or a host name (api.example.com, *.example.com)`,
  );
}

function parseCidrEntry(entry: string): Cidr | undefined {
  const slash = entry.indexOf('/');
  const ipText = stripBrackets(slash === -1 ? entry : entry.slice(0, slash));
  const family = isIP(ipText);
  if (family === 0) {
    if (slash !== -1) throw malformedEntry(entry);
    return undefined;
  }
  const max = family === 4 ? 32 : 128;
  const prefixText = slash === -1 ? String(max) : entry.slice(slash + 1);
  const prefix = Number(prefixText);
  if (!/^\d{1,3}$/.test(prefixText) || prefix > max) {
    throw new Error(`OUTBOUND_ALLOW: "${entry}" has an invalid prefix length (0-${max} for IPv${family})`);
  }
  return [parseAddress(ipText), prefix];
}

/**
 * Classify an IP address (as `dns.lookup` returns it). Only globally reachable unicast addresses are
 * public; IPv6 forms that carry an IPv4 address (mapped, NAT64, 6to4, Teredo, IPv4-compatible) are
 * judged by the IPv4 address they carry. Throws when `ip` is not an IP address.
 */
export function classifyAddress(ip: string): AddressClass {
  const address = parseAddress(ip);
  return address.kind() === 'ipv4' ? classifyV4(address as ipaddr.IPv4) : classifyV6(address as ipaddr.IPv6);
}

function classifyV4(address: ipaddr.IPv4): AddressClass {
  const range = address.range();
  // AS112 (RFC 7534) and AMT (RFC 7450) anycast are globally reachable services.
  switch (range) {
    case 'unicast':
    case 'as112':
    case 'amt':
      return { public: true };
    case 'loopback':
    case 'private':
    case 'linkLocal':
    case 'multicast':
    case 'unspecified':
    case 'broadcast':
    case 'carrierGradeNat':
    case 'reserved':
      return { public: false, range };
    case 'benchmarking':
      return { public: false, range: 'reserved' };
  }
}

const V6_GLOBAL_UNICAST = ipaddr.IPv6.parseCIDR('2000::/3');
const V6_NAT64_LOCAL = ipaddr.IPv6.parseCIDR('64:ff9b:1::/48');

function classifyV6(address: ipaddr.IPv6): AddressClass {
  const p = address.parts;
  // ipaddr.js names more ranges than its typings list, so compare as a string.
  const range: string = address.range();
  switch (range) {
    case 'loopback':
    case 'linkLocal':
    case 'uniqueLocal':
    case 'multicast':
    case 'unspecified':
      return { public: false, range };
    case 'deprecatedSiteLocal':
      return { public: false, range: 'siteLocal' };
    case 'ipv4Mapped': // ::ffff:a.b.c.d
    case 'rfc6145': // ::ffff:0:a.b.c.d
      return classifyV4(v4From(p[6], p[7]));
    case 'rfc6052':
      // 64:ff9b::/96 carries the IPv4 address in its last 32 bits; 64:ff9b:1::/48 is for local use only.
      if (address.match(V6_NAT64_LOCAL)) return { public: false, range: 'reserved' };
      return classifyV4(v4From(p[6], p[7]));
    case '6to4': // 2002:AABB:CCDD::/48
      return classifyV4(v4From(p[1], p[2]));
    case 'teredo': {
      // 2001:0:SSSS:SSSS:flags:port:CCCC:CCCC, server in clear, client inverted.
      const server = classifyV4(v4From(p[2], p[3]));
      if (!server.public) return server;
      return classifyV4(v4From(p[6] ^ 0xffff, p[7] ^ 0xffff));
    }
    case 'amt':
    case 'as112v6':
      return { public: true };
    case 'unicast':
      break;
    default:
      // discard, benchmarking, ORCHID, drone tags, segment routing, documentation...
      return { public: false, range: 'reserved' };
  }
  if (p.slice(0, 6).every((part) => part === 0)) {
    // Deprecated IPv4-compatible ::a.b.c.d: never routable, refused whatever it carries.
    const embedded = classifyV4(v4From(p[6], p[7]));
    return embedded.public ? { public: false, range: 'reserved' } : embedded;
  }
  if (!address.match(V6_GLOBAL_UNICAST)) return { public: false, range: 'reserved' };
  return { public: true };
}

function v4From(high: number, low: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}

/**
 * Parse with Node's notion of a valid address (no `0177.1`-style forms), then ipaddr.js.
 * A trailing dotted quad in IPv6 is rewritten to hex first: ipaddr.js reads `::1.2.3.4` as `::ffff:1.2.3.4`.
 */
function parseAddress(ip: string): Address {
  const text = stripBrackets(ip);
  const family = isIP(text);
  if (family === 0) throw new Error(`"${ip}" is not an IP address`);
  if (family === 4) return ipaddr.IPv4.parse(text);
  const zoneAt = text.indexOf('%');
  const bare = zoneAt === -1 ? text : text.slice(0, zoneAt);
  const hex = bare.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_m, a: string, b: string, c: string, d: string) =>
    [(Number(a) << 8) | Number(b), (Number(c) << 8) | Number(d)].map((n) => n.toString(16)).join(':'),
  );
  return ipaddr.IPv6.parse(hex);
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** Lower case, no IPv6 brackets, no trailing dot. */
export function normalizeHost(host: string): string {
  return stripBrackets(host.trim().toLowerCase()).replace(/\.$/, '');
}

export function isHostAllowed(host: string, allow: AllowList): boolean {
  const name = normalizeHost(host);
  return allow.hosts.has(name) || allow.hostSuffixes.some((suffix) => name.endsWith(suffix));
}

/** True when a CIDR of the list holds `ip` (an IPv4-mapped IPv6 address also matches IPv4 ranges). */
export function isAddressAllowed(ip: string, allow: AllowList): boolean {
  const address = parseAddress(ip);
  const candidates: Address[] = [address];
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) {
    candidates.push((address as ipaddr.IPv6).toIPv4Address());
  }
  return allow.cidrs.some(([network, prefix]) =>
    candidates.some((candidate) => candidate.kind() === network.kind() && candidate.match(network, prefix)),
  );
}

const RANGE_LABELS: { [R in BlockedRange]: string } = {
  loopback: 'a loopback',
  private: 'a private',
  linkLocal: 'a link-local',
  uniqueLocal: 'a unique-local',
  siteLocal: 'a site-local',
  multicast: 'a multicast',
  unspecified: 'an unspecified',
  broadcast: 'a broadcast',
  carrierGradeNat: 'a carrier-grade NAT',
  reserved: 'a reserved',
};

/** May a request for `host` connect to `ip`? `host` is the URL's host name, `ip` what it resolved to. */
export function checkTarget(host: string, ip: string, allow: AllowList): TargetCheck {
  if (isHostAllowed(host, allow)) return { ok: true };
  if (isIP(stripBrackets(ip)) === 0) return { ok: false, reason: `${ip} is not an IP address` };
  if (isAddressAllowed(ip, allow)) return { ok: true };
  const verdict = classifyAddress(ip);
  if (verdict.public) return { ok: true };
  const label = `${RANGE_LABELS[verdict.range]} address`;
  const name = normalizeHost(host);
  const bareIp = stripBrackets(ip);
  if (name === bareIp.toLowerCase()) {
    return { ok: false, reason: `${bareIp} is ${label}; add it to OUTBOUND_ALLOW to allow it` };
  }
  return {
    ok: false,
    reason: `${name} resolves to ${bareIp}, ${label}; add the host or the address to OUTBOUND_ALLOW to allow it`,
  };
}
