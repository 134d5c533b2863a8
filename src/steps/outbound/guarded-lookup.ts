import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { type AllowList, checkTarget, normalizeHost } from 'src/steps/outbound/address-guard';

/** `code` of the error a refused target fails with; such an error is never retried. */
export const EADDRREFUSED_BY_POLICY = 'EADDRREFUSED_BY_POLICY';

export class OutboundPolicyError extends Error {
  readonly code = EADDRREFUSED_BY_POLICY;

  constructor(reason: string) {
    super(reason);
    this.name = 'OutboundPolicyError';
  }
}

export function isOutboundPolicyError(error: unknown): error is OutboundPolicyError {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === EADDRREFUSED_BY_POLICY;
}

/**
 * A `lookup` for `http.request()`/`https.request()`: resolves once, checks every address with
 * `checkTarget`, and hands the socket exactly the addresses it checked, so a second DNS answer
 * (rebinding) never reaches `connect`. Handles both `{ all: true }` (autoSelectFamily) and single-address calls.
 *
 * Node skips `lookup` when the URL host is already an IP: call `assertUrlAllowed` before the request too.
 */
export function createGuardedLookup(allow: AllowList): LookupFunction {
  return (hostname, options, callback) => {
    const resolved = (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]): void => {
      if (error) {
        callback(error, options.all ? [] : '');
        return;
      }
      if (addresses.length === 0) {
        callback(lookupFailure(hostname), options.all ? [] : '');
        return;
      }
      for (const { address } of addresses) {
        const verdict = checkTarget(hostname, address, allow);
        if (!verdict.ok) {
          callback(new OutboundPolicyError(verdict.reason), options.all ? [] : '');
          return;
        }
      }
      if (options.all) callback(null, addresses);
      else callback(null, addresses[0].address, addresses[0].family);
    };

    const literal = normalizeHost(hostname);
    const family = isIP(literal);
    if (family !== 0) {
      resolved(null, [{ address: literal, family }]);
      return;
    }
    const lookupOptions: LookupOptions & { all: true } = { ...options, all: true };
    dnsLookup(hostname, lookupOptions, resolved);
  };
}

function lookupFailure(hostname: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
  error.code = 'ENOTFOUND';
  return error;
}

/**
 * Check a URL before sending it: only http(s), and a literal IP host must pass `checkTarget`
 * (Node connects to literal IPs without calling `lookup`). Host names are checked by the guarded lookup.
 * Throws an `OutboundPolicyError`.
 */
export function assertUrlAllowed(url: URL, allow: AllowList): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new OutboundPolicyError(`${url.protocol} URLs are not allowed; use http or https`);
  }
  const host = normalizeHost(url.hostname);
  if (isIP(host) === 0) return;
  const verdict = checkTarget(host, host, allow);
  if (!verdict.ok) throw new OutboundPolicyError(verdict.reason);
}
