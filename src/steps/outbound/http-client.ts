import http, { IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { AllowList } from 'src/steps/outbound/address-guard';
import { assertUrlAllowed, isOutboundPolicyError } from 'src/steps/outbound/guarded-lookup';

export interface OutboundRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: Buffer;
  timeoutMs: number;
}

export interface OutboundResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** True when the body was longer than the client keeps. */
  truncated: boolean;
}

/** A connection error, a timeout, or a target refused by the address guard. */
export class OutboundError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

export const MAX_RESPONSE_BYTES = 5 * 1024 * 1024;

export interface OutboundHttp {
  send(req: OutboundRequest): Promise<OutboundResponse>;
}

/**
 * Why a header cannot be sent as rendered (node:http would throw on it), or undefined: a name that is
 * not an HTTP token, a value with CR/LF (header injection) or a character outside Latin-1.
 */
export function invalidHeader(headers: Record<string, string>): string | undefined {
  for (const [name, value] of Object.entries(headers)) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name))
      return `header name ${JSON.stringify(name)} is not a valid HTTP header name`;
    if (/[\r\n]/.test(value)) return `header ${name} contains CR or LF`;
    if (/[^\t\x20-\x7e\x80-\xff]/.test(value))
      return `header ${name} contains a character an HTTP header cannot carry`;
  }
  return undefined;
}

function flattenHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers))
    if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/**
 * node:http with keep-alive agents. Redirects are never followed (node does not follow them), and
 * `lookup` lets the address guard pick the address the socket connects to.
 */
export class NodeOutboundHttp implements OutboundHttp {
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;

  constructor(
    private readonly lookup?: LookupFunction,
    private readonly allow?: AllowList,
  ) {
    const options = { keepAlive: true, maxSockets: 256, maxFreeSockets: 64, lookup };
    this.httpAgent = new http.Agent(options);
    this.httpsAgent = new https.Agent(options);
  }

  send(req: OutboundRequest): Promise<OutboundResponse> {
    if (this.allow) {
      // Node skips `lookup` for a literal IP, so such hosts are checked here.
      try {
        assertUrlAllowed(req.url, this.allow);
      } catch (e) {
        if (isOutboundPolicyError(e)) return Promise.reject(new OutboundError(e.message, e.code));
        throw e;
      }
    }
    const isHttps = req.url.protocol === 'https:';
    const transport = isHttps ? https : http;
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (err: OutboundError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        r.destroy();
        reject(err);
      };
      const r = transport.request(
        req.url,
        {
          method: req.method,
          headers: { ...req.headers, ...(req.body ? { 'content-length': String(req.body.length) } : {}) },
          agent: isHttps ? this.httpsAgent : this.httpAgent,
          lookup: this.lookup,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          let truncated = false;
          res.on('data', (chunk: Buffer) => {
            if (size >= MAX_RESPONSE_BYTES) {
              truncated = true;
              return;
            }
            chunks.push(chunk);
            size += chunk.length;
          });
          res.on('error', (e) => fail(new OutboundError(`response failed: ${e.message}`, 'ERESPONSE')));
          res.on('end', () => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            resolve({
              status: res.statusCode ?? 0,
              headers: flattenHeaders(res.headers),
              body: Buffer.concat(chunks),
              truncated,
            });
          });
        },
      );
      const timer = setTimeout(
        () => fail(new OutboundError(`timed out after ${req.timeoutMs} ms`, 'ETIMEDOUT')),
        req.timeoutMs,
      );
      r.on('error', (e: NodeJS.ErrnoException) => {
        fail(new OutboundError(e.message || String(e.code), e.code ?? 'ECONNECTION'));
      });
      r.end(req.body);
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
