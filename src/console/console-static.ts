import type { FastifyInstance, FastifyReply } from 'fastify';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { gzipSync } from 'node:zlib';

/** The console's own client routes: each answers index.html so a reload or a shared link works. */
export const CONSOLE_ROUTES = [
  '/',
  '/flows',
  '/flows/new',
  '/flows/:id',
  '/flows/:id/runs',
  '/runs/:id',
  '/secrets',
  '/keys',
  '/destinations',
] as const;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

// Everything the console loads comes from this origin; the page may not be framed (clickjacking).
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const NOT_BUILT =
  'The hookflow console is not built. Run `npm run build` (it builds the API and the console into dist/), then restart.\n' +
  'The API is at /api/v1, its documentation at /docs.\n';

interface Asset {
  body: Buffer;
  gzip?: Buffer;
  type: string;
  etag: string;
}

/** Where `npm run build` puts the console: dist/console-ui, from dist/console or from src/console. */
export function findConsoleDir(): string | undefined {
  const candidates = [join(__dirname, '..', 'console-ui'), join(__dirname, '..', '..', 'dist', 'console-ui')];
  return candidates.find((dir) => existsSync(join(dir, 'index.html')));
}

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else out.push(path);
  }
  return out;
}

/** Reads the built console into memory: a handful of small files, hashed names, served as they are. */
export function loadConsoleAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const file of walk(dir)) {
    const body = readFileSync(file);
    const type = TYPES[extname(file)] ?? 'application/octet-stream';
    const compressible = /^(text\/|application\/json|image\/svg)/.test(type) && body.length > 1024;
    assets.set('/' + relative(dir, file).split(sep).join('/'), {
      body,
      ...(compressible ? { gzip: gzipSync(body) } : {}),
      type,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
    });
  }
  return assets;
}

const PAGE_HEADERS = {
  'content-security-policy': CSP,
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

function send(
  reply: FastifyReply,
  asset: Asset,
  acceptEncoding: string | undefined,
  cache: string,
  extra: Record<string, string> = {},
): FastifyReply {
  void reply
    .headers(extra)
    .header('content-type', asset.type)
    .header('cache-control', cache)
    .header('etag', asset.etag)
    .header('x-content-type-options', 'nosniff')
    .header('vary', 'accept-encoding');
  if (asset.gzip && /\bgzip\b/.test(acceptEncoding ?? '')) {
    return reply.header('content-encoding', 'gzip').send(asset.gzip);
  }
  return reply.send(asset.body);
}

/**
 * Serves the console at `/`: its files under /assets/ (immutable: Vite puts a hash in each name) and
 * index.html for the console's client routes only, so every other path (the API, /hooks, /docs,
 * /health, /metrics, unknown paths) answers exactly as without the console. Without a build, the
 * console routes answer a line pointing at `npm run build`.
 */
export function registerConsole(
  fastify: FastifyInstance,
  dir: string | null = findConsoleDir() ?? null,
): void {
  const assets = dir ? loadConsoleAssets(dir) : new Map<string, Asset>();
  const index = assets.get('/index.html');
  for (const url of CONSOLE_ROUTES) {
    fastify.get(url, (req, reply) => {
      if (!index) return reply.code(200).type('text/plain; charset=utf-8').send(NOT_BUILT);
      if (req.headers['if-none-match'] === index.etag) return reply.code(304).send();
      return send(reply, index, req.headers['accept-encoding'], 'no-cache', PAGE_HEADERS);
    });
  }
  fastify.get('/assets/*', (req, reply) => {
    const asset = assets.get(req.url.split('?')[0]);
    if (!asset) return reply.callNotFound();
    if (req.headers['if-none-match'] === asset.etag) return reply.code(304).send();
    return send(reply, asset, req.headers['accept-encoding'], 'public, max-age=31536000, immutable');
  });
  const favicon = assets.get('/favicon.svg');
  if (favicon) {
    fastify.get('/favicon.svg', (req, reply) =>
      send(reply, favicon, req.headers['accept-encoding'], 'public, max-age=86400'),
    );
  }
}
