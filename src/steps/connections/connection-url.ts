import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { ExpressionBindings, ExpressionInput, ExpressionSyntaxError } from 'src/expressions/expression';
import {
  CompiledTemplate,
  compileTemplate,
  splitTemplate,
  TemplateSyntaxError,
  toText,
} from 'src/expressions/template';
import { AllowList, checkTarget, normalizeHost } from 'src/steps/outbound/address-guard';
import { OutboundPolicyError } from 'src/steps/outbound/guarded-lookup';
import { StepFailure } from 'src/steps/step-failure';

/** `$secrets.NAME`, `` $secrets.`NAME` `` or `$secrets["NAME"]`, and nothing else. */
const SECRET_REFERENCE =
  /^\s*\$secrets(?:\.(?:[A-Za-z_][A-Za-z0-9_]*|`[^`]+`)|\[\s*(?:"[^"]*"|'[^']*')\s*\])\s*$/;

/**
 * Compiles a connection URL (API.md section 11: "templates over $secrets only"): literal text and
 * `{{ $secrets.NAME }}` parts, so no event can choose the host a step connects to.
 */
export function compileConnectionUrl(text: string, path: string): CompiledTemplate {
  let parts;
  try {
    parts = splitTemplate(text);
  } catch (e) {
    throw new TemplateSyntaxError(path, e as ExpressionSyntaxError);
  }
  for (const part of parts) {
    if ('expression' in part && !SECRET_REFERENCE.test(part.expression)) {
      throw new TemplateSyntaxError(
        path,
        new ExpressionSyntaxError('a connection URL may only use {{ $secrets.NAME }} parts', part.offset),
      );
    }
  }
  return compileTemplate(text, path);
}

/** What a connection URL is rendered against: no event, no step outputs, only the bindings. */
const NO_INPUT: ExpressionInput = {
  event: null,
  steps: {},
  flow: { id: '', name: '', version: 0 },
  execution: { id: null },
};

/**
 * Renders a connection URL and checks its scheme. Its text is never echoed in an error: it usually
 * carries a password. `schemes` are URL protocols with their colon (`postgres:`).
 */
export async function renderConnectionUrl(
  template: CompiledTemplate,
  bindings: ExpressionBindings,
  field: string,
  schemes: readonly string[],
): Promise<URL> {
  const text = toText(await template.render(NO_INPUT, bindings));
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new StepFailure(`${field} is not a valid URL`, false);
  }
  if (!schemes.includes(url.protocol)) {
    const allowed = schemes.map((s) => `${s}//`).join(', ');
    throw new StepFailure(`${field}: ${url.protocol} URLs are not allowed; use ${allowed}`, false, {
      request: { url: maskUrl(url) },
    });
  }
  if (url.hostname === '') throw new StepFailure(`${field} has no host`, false);
  return url;
}

/** The URL as records show it: user and password replaced by `***` (`amqp://***@host/`). */
export function maskUrl(url: URL): string {
  if (url.username === '' && url.password === '') return url.toString();
  const masked = new URL(url);
  masked.username = '***';
  masked.password = '';
  return masked.toString();
}

/** The URL's user name and password, percent-decoded. */
export function urlCredentials(url: URL): { user?: string; password?: string } {
  return {
    ...(url.username ? { user: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
  };
}

/** The URL's host without IPv6 brackets, as TLS wants it for SNI (undefined for an IP address). */
export function tlsServerName(url: URL): string | undefined {
  const host = normalizeHost(url.hostname);
  return isIP(host) === 0 ? host : undefined;
}

/**
 * The address guard for non-HTTP clients: resolves `host` once, checks every address it resolves to
 * (API.md section 5) and returns the one to connect to, so the client never resolves the name again
 * (no DNS rebinding between the check and the connect). Throws OutboundPolicyError when refused.
 */
export async function resolveAllowedAddress(host: string, allow: AllowList): Promise<string> {
  const name = normalizeHost(host);
  if (isIP(name) !== 0) {
    const verdict = checkTarget(name, name, allow);
    if (!verdict.ok) throw new OutboundPolicyError(verdict.reason);
    return name;
  }
  const addresses = await lookup(name, { all: true });
  if (addresses.length === 0) throw new Error(`getaddrinfo ENOTFOUND ${name}`);
  for (const { address } of addresses) {
    const verdict = checkTarget(name, address, allow);
    if (!verdict.ok) throw new OutboundPolicyError(verdict.reason);
  }
  return addresses[0].address;
}
