import {
  type BlockedRange,
  EMPTY_ALLOW_LIST,
  checkTarget,
  classifyAddress,
  parseAllowList,
} from 'src/steps/outbound/address-guard';

// Pure classification over strings: nothing here opens a socket.
describe('classifyAddress', () => {
  const refused: Array<[string, BlockedRange]> = [
    // IPv4
    ['127.0.0.1', 'loopback'],
    ['127.0.0.2', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.254', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'linkLocal'],
    ['169.254.0.1', 'linkLocal'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['100.127.255.254', 'carrierGradeNat'],
    ['192.0.0.1', 'reserved'],
    ['192.0.2.10', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['198.51.100.7', 'reserved'],
    ['203.0.113.9', 'reserved'],
    ['240.0.0.1', 'reserved'],
    // IPv6
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'linkLocal'],
    ['fe80::1%eth0', 'linkLocal'],
    ['febf::1', 'linkLocal'],
    ['fc00::1', 'uniqueLocal'],
    ['fd12:3456:789a::1', 'uniqueLocal'],
    ['fec0::1', 'siteLocal'],
    ['ff02::1', 'multicast'],
    ['ff05::1:3', 'multicast'],
    ['2001:db8::1', 'reserved'],
    ['100::1', 'reserved'],
    ['3fff::1', 'reserved'],
    ['4000::1', 'reserved'],
    ['64:ff9b:1::a00:1', 'reserved'],
    // IPv6 carrying an IPv4 address
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::FFFF:10.1.2.3', 'private'],
    ['::ffff:169.254.169.254', 'linkLocal'],
    ['::ffff:0:192.168.0.1', 'private'],
    ['64:ff9b::127.0.0.1', 'loopback'],
    ['64:ff9b::a9fe:a9fe', 'linkLocal'],
    ['64:ff9b::100.64.0.1', 'carrierGradeNat'],
    ['2002:7f00:1::1', 'loopback'],
    ['2002:c0a8:101::', 'private'],
    ['2002:a9fe:a9fe::1', 'linkLocal'],
    // Teredo: server 65.54.227.120, client 127.0.0.1 stored inverted (80ff:fffe)
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'loopback'],
    // Teredo with a private server
    ['2001:0:a00:1:8000:63bf:3fff:fdd2', 'private'],
    // IPv4-compatible (deprecated): the carried address, or reserved when it is public
    ['::127.0.0.1', 'loopback'],
    ['::7f00:1', 'loopback'],
    ['::8.8.8.8', 'reserved'],
  ];

  it.each(refused)('refuses %s as %s', (ip, range) => {
    expect(classifyAddress(ip)).toEqual({ public: false, range });
  });

  const publicAddresses = [
    '8.8.8.8',
    '1.1.1.1',
    '93.184.215.14',
    '172.32.0.1',
    '172.15.255.255',
    '100.128.0.1',
    '169.253.255.255',
    '2606:4700::1111',
    '2001:4860:4860::8888',
    '2a00:1450:4001::1',
    '::ffff:8.8.8.8',
    '64:ff9b::8.8.8.8',
    '2002:808:808::1',
    // Teredo: server 65.54.227.120, client 8.8.8.8 stored inverted (f7f7:f7f7)
    '2001:0:4136:e378:8000:63bf:f7f7:f7f7',
  ];

  it.each(publicAddresses)('accepts %s as public', (ip) => {
    expect(classifyAddress(ip)).toEqual({ public: true });
  });

  it.each(['example.com', '', '0177.0.0.1', '2130706433', '1.2.3', '::g'])('throws on %j', (text) => {
    expect(() => classifyAddress(text)).toThrow('is not an IP address');
  });
});

describe('parseAllowList', () => {
  it('reads CIDRs, single IPs, host names and wildcards, ignoring blanks', () => {
    const allow = parseAllowList(
      ' 10.0.0.0/8, 127.0.0.2 ,::1, fd00::/8, API.Example.com., *.internal.test, ,',
    );
    expect(allow.cidrs.map(([net, prefix]) => `${net.toString()}/${prefix}`)).toEqual([
      '10.0.0.0/8',
      '127.0.0.2/32',
      '::1/128',
      'fd00::/8',
    ]);
    expect([...allow.hosts]).toEqual(['api.example.com']);
    expect(allow.hostSuffixes).toEqual(['.internal.test']);
  });

  it('accepts an empty list', () => {
    expect(parseAllowList('')).toEqual(EMPTY_ALLOW_LIST);
  });

  it.each([
    ['10.0.0.0/33', 'invalid prefix length'],
    ['::/129', 'invalid prefix length'],
    ['10.0.0.0/', 'invalid prefix length'],
    ['10.0.0.0/x', 'invalid prefix length'],
    ['10.0.0/8', 'is not a CIDR'],
    ['host name', 'is not a CIDR'],
    ['*.', 'is not a CIDR'],
    ['a.*.example.com', 'is not a CIDR'],
    ['http://example.com', 'is not a CIDR'],
    ['-bad.example.com', 'is not a CIDR'],
  ])('throws on %j', (text, message) => {
    expect(() => parseAllowList(text)).toThrow(message);
  });

  it('names the bad entry in the message', () => {
    expect(() => parseAllowList('10.0.0.0/8, exa mple.com')).toThrow(/OUTBOUND_ALLOW: "exa mple.com"/);
  });
});

describe('checkTarget', () => {
  const allow = parseAllowList('10.0.0.0/8, 127.0.0.2, fd00::/8, localhost, *.corp.test');

  it.each([
    ['a public address', 'example.com', '93.184.215.14'],
    ['a CIDR hit', 'svc.local', '10.1.2.3'],
    ['an IPv4-mapped address in an IPv4 CIDR', 'svc.local', '::ffff:10.1.2.3'],
    ['a single IP', '127.0.0.2', '127.0.0.2'],
    ['an IPv6 CIDR hit', 'svc6.local', 'fd00::5'],
    ['an exact host name', 'localhost', '127.0.0.1'],
    ['a host name in another case', 'LocalHost.', '::1'],
    ['a wildcard subdomain', 'api.corp.test', '192.168.0.10'],
    ['a deeper wildcard subdomain', 'a.b.corp.test', '169.254.169.254'],
  ])('allows %s', (_label, host, ip) => {
    expect(checkTarget(host, ip, allow)).toEqual({ ok: true });
  });

  it.each([
    ['127.0.0.3', '127.0.0.3', '127.0.0.3 is a loopback address; add it to OUTBOUND_ALLOW to allow it'],
    [
      'corp.test',
      '192.168.0.10',
      'corp.test resolves to 192.168.0.10, a private address; add the host or the address to OUTBOUND_ALLOW to allow it',
    ],
    [
      'evilcorp.test',
      '169.254.169.254',
      'evilcorp.test resolves to 169.254.169.254, a link-local address; add the host or the address to OUTBOUND_ALLOW to allow it',
    ],
    ['[::1]', '::1', '::1 is a loopback address; add it to OUTBOUND_ALLOW to allow it'],
    ['0.0.0.0', '0.0.0.0', '0.0.0.0 is an unspecified address; add it to OUTBOUND_ALLOW to allow it'],
    ['fc00::1', 'fc00::1', 'fc00::1 is a unique-local address; add it to OUTBOUND_ALLOW to allow it'],
    ['example.com', 'not-an-ip', 'not-an-ip is not an IP address'],
  ])('refuses %s -> %s', (host, ip, reason) => {
    expect(checkTarget(host, ip, allow)).toEqual({ ok: false, reason });
  });

  it('refuses the loopback address with an empty allow list', () => {
    expect(checkTarget('127.0.0.2', '127.0.0.2', EMPTY_ALLOW_LIST)).toEqual({
      ok: false,
      reason: '127.0.0.2 is a loopback address; add it to OUTBOUND_ALLOW to allow it',
    });
  });
});
