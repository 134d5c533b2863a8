import { parseHostPattern, patternCovers, urlEndpoint } from 'src/destinations/destination-match';

function covers(pattern: string, url: string): boolean {
  const p = parseHostPattern(pattern);
  if (!p) throw new Error(`not a pattern: ${pattern}`);
  const { host, port } = urlEndpoint(new URL(url));
  return patternCovers(p, host, port);
}

describe('destination match', () => {
  it('a host covers every port of it, host:port only that port (the scheme default included)', () => {
    expect(covers('api.example.com', 'https://api.example.com/x')).toBe(true);
    expect(covers('api.example.com', 'http://api.example.com:8080/x')).toBe(true);
    expect(covers('api.example.com:8443', 'https://api.example.com:8443/x')).toBe(true);
    expect(covers('api.example.com:8443', 'https://api.example.com/x')).toBe(false);
    expect(covers('api.example.com:443', 'https://api.example.com/x')).toBe(true);
    expect(covers('127.0.0.1:5672', 'amqp://guest:guest@127.0.0.1/')).toBe(true);
    expect(covers('API.Example.com', 'https://api.example.com./')).toBe(true);
  });

  it('*. covers subdomains only', () => {
    expect(covers('*.example.org', 'https://a.example.org/')).toBe(true);
    expect(covers('*.example.org', 'https://a.b.example.org/')).toBe(true);
    expect(covers('*.example.org', 'https://example.org/')).toBe(false);
    expect(covers('*.example.org', 'https://badexample.org/')).toBe(false);
    expect(covers('*.example.org:8443', 'https://a.example.org/')).toBe(false);
  });

  it('refuses what is not a host pattern', () => {
    for (const bad of [
      '',
      'http://a.com',
      'a.com/x',
      '*',
      '*.',
      'a..b',
      'a.com:0',
      'a.com:70000',
      '*.[::1]',
      'a b',
    ]) {
      expect(parseHostPattern(bad)).toBeUndefined();
    }
    expect(parseHostPattern('[::1]:8080')).toEqual({ wildcard: false, host: '[::1]', port: 8080 });
    expect(covers('[::1]:8080', 'http://[::1]:8080/')).toBe(true);
  });
});
