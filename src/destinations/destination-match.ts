/** A destination's name (API.md §10). */
export const DESTINATION_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Ports a URL implies when it names none, per scheme (http, slack and section 11's steps). */
const DEFAULT_PORTS: Record<string, number> = {
  'http:': 80,
  'https:': 443,
  'amqp:': 5672,
  'amqps:': 5671,
  'mqtt:': 1883,
  'mqtts:': 8883,
  'nats:': 4222,
  'tls:': 4222,
  'postgres:': 5432,
  'postgresql:': 5432,
  'mysql:': 3306,
  'smtp:': 587,
  'smtps:': 465,
};

/** `host`, `host:port`, `*.domain` or `*.domain:port`; an IPv6 host in brackets. */
const PATTERN = /^(\*\.)?([a-z0-9_-]+(\.[a-z0-9_-]+)*|\[[0-9a-f:.]+\])(:(\d{1,5}))?$/;

export interface HostPattern {
  /** `*.example.org`: subdomains of `host`, not `host` itself. */
  wildcard: boolean;
  host: string;
  port?: number;
}

/** Parses one `match` entry; undefined when it is not a host pattern. */
export function parseHostPattern(text: string): HostPattern | undefined {
  const m = PATTERN.exec(text.trim().toLowerCase());
  if (!m) return undefined;
  const wildcard = m[1] !== undefined;
  if (wildcard && m[2].startsWith('[')) return undefined;
  const port = m[5] === undefined ? undefined : Number(m[5]);
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  return { wildcard, host: m[2], ...(port !== undefined ? { port } : {}) };
}

/** The host and port an attempt to `url` talks to. */
export function urlEndpoint(url: URL): { host: string; port: number | undefined } {
  const port = url.port !== '' ? Number(url.port) : DEFAULT_PORTS[url.protocol];
  return { host: url.hostname.toLowerCase().replace(/\.$/, ''), port };
}

export function patternCovers(p: HostPattern, host: string, port: number | undefined): boolean {
  if (p.port !== undefined && p.port !== port) return false;
  return p.wildcard ? host.endsWith(`.${p.host}`) : host === p.host;
}
