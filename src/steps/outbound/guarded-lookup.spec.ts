import type { LookupAddress, LookupOptions } from 'node:dns';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo, LookupFunction } from 'node:net';
import { parseAllowList } from 'src/steps/outbound/address-guard';
import {
  EADDRREFUSED_BY_POLICY,
  assertUrlAllowed,
  createGuardedLookup,
  isOutboundPolicyError,
} from 'src/steps/outbound/guarded-lookup';

// Only loopback is ever resolved or contacted here; `localhost` resolves from the local hosts file.

interface LookupResult {
  error: NodeJS.ErrnoException | null;
  address: string | LookupAddress[];
  family?: number;
}

function callLookup(lookup: LookupFunction, host: string, options: LookupOptions): Promise<LookupResult> {
  return new Promise((resolve) => {
    lookup(host, options, (error, address, family) => resolve({ error, address, family }));
  });
}

const isLoopback = (address: string): boolean => address === '::1' || address.startsWith('127.');

describe('createGuardedLookup', () => {
  const refusing = createGuardedLookup(parseAllowList(''));

  it.each([{}, { all: true }])('refuses the literal 127.0.0.2 with options %j', async (options) => {
    const { error } = await callLookup(refusing, '127.0.0.2', options);
    expect(error).toBeInstanceOf(Error);
    expect(error?.code).toBe(EADDRREFUSED_BY_POLICY);
    expect(error?.message).toBe('127.0.0.2 is a loopback address; add it to OUTBOUND_ALLOW to allow it');
    expect(isOutboundPolicyError(error)).toBe(true);
  });

  it.each([{}, { all: true }])('refuses localhost with options %j', async (options) => {
    const { error } = await callLookup(refusing, 'localhost', options);
    expect(error?.code).toBe(EADDRREFUSED_BY_POLICY);
    expect(error?.message).toMatch(
      /^localhost resolves to (127\.0\.0\.1|::1), a loopback address; add the host or the address to OUTBOUND_ALLOW to allow it$/,
    );
  });

  it('refuses the literal [::1]', async () => {
    const { error } = await callLookup(refusing, '[::1]', {});
    expect(error?.message).toBe('::1 is a loopback address; add it to OUTBOUND_ALLOW to allow it');
  });

  it.each(['127.0.0.0/8', '127.0.0.2'])(
    'allows the literal 127.0.0.2 when the list holds %s',
    async (list) => {
      const lookup = createGuardedLookup(parseAllowList(list));
      expect(await callLookup(lookup, '127.0.0.2', {})).toEqual({
        error: null,
        address: '127.0.0.2',
        family: 4,
      });
      expect(await callLookup(lookup, '127.0.0.2', { all: true })).toEqual({
        error: null,
        address: [{ address: '127.0.0.2', family: 4 }],
        family: undefined,
      });
    },
  );

  it.each(['localhost', '127.0.0.0/8, ::1', 'LOCALHOST.'])(
    'allows localhost when the list holds %s, returning the checked addresses',
    async (list) => {
      const lookup = createGuardedLookup(parseAllowList(list));
      const single = await callLookup(lookup, 'localhost', {});
      expect(single.error).toBeNull();
      expect(typeof single.address).toBe('string');
      expect(isLoopback(single.address as string)).toBe(true);
      expect([4, 6]).toContain(single.family);

      const all = await callLookup(lookup, 'localhost', { all: true });
      expect(all.error).toBeNull();
      expect(Array.isArray(all.address)).toBe(true);
      const addresses = all.address as LookupAddress[];
      expect(addresses.length).toBeGreaterThan(0);
      expect(addresses.every((entry) => isLoopback(entry.address))).toBe(true);
    },
  );

  it('allows ::1 when the list holds ::1', async () => {
    const lookup = createGuardedLookup(parseAllowList('::1'));
    expect(await callLookup(lookup, '::1', {})).toEqual({ error: null, address: '::1', family: 6 });
  });
});

describe('createGuardedLookup with node:http', () => {
  let server: Server;
  let port: number;

  beforeAll(async () => {
    server = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  function get(list: string): Promise<{ status?: number; error?: NodeJS.ErrnoException }> {
    return new Promise((resolve) => {
      const req = request(
        {
          host: 'localhost',
          port,
          path: '/',
          family: 4,
          agent: false,
          lookup: createGuardedLookup(parseAllowList(list)),
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode }));
        },
      );
      req.on('error', (error: NodeJS.ErrnoException) => resolve({ error }));
      req.end();
    });
  }

  it('fails the request before connecting when localhost is not allowed', async () => {
    const { error, status } = await get('');
    expect(status).toBeUndefined();
    expect(error?.code).toBe(EADDRREFUSED_BY_POLICY);
  });

  it('connects when localhost is allowed', async () => {
    expect(await get('localhost')).toEqual({ status: 200 });
  });
});

describe('assertUrlAllowed', () => {
  const empty = parseAllowList('');

  it.each([
    'http://127.0.0.2:8080/x',
    'http://[::1]/',
    'http://2130706433/',
    'http://0x7f.1/',
    'https://[::ffff:169.254.169.254]/',
  ])('refuses the literal IP host of %s', (url) => {
    expect(() => assertUrlAllowed(new URL(url), empty)).toThrow(
      expect.objectContaining({ code: EADDRREFUSED_BY_POLICY }),
    );
  });

  it('allows a listed literal IP and leaves host names to the lookup', () => {
    expect(() => assertUrlAllowed(new URL('http://127.0.0.2/'), parseAllowList('127.0.0.0/8'))).not.toThrow();
    expect(() => assertUrlAllowed(new URL('https://example.com/'), empty)).not.toThrow();
    expect(() => assertUrlAllowed(new URL('http://8.8.8.8/'), empty)).not.toThrow();
  });

  it('refuses other schemes', () => {
    expect(() => assertUrlAllowed(new URL('file:///etc/passwd'), empty)).toThrow(
      'file: URLs are not allowed',
    );
  });
});
