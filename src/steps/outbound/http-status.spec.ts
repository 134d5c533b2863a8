import { classifyHttpStatus, parseRetryAfter } from 'src/steps/outbound/http-status';

describe('HTTP answers for retries', () => {
  it('parses Retry-After as seconds or a date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('7', now)).toBe(7000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it('classifies statuses', () => {
    expect([200, 204, 299].map(classifyHttpStatus)).toEqual(['success', 'success', 'success']);
    expect([408, 425, 429, 500, 503, 599].map(classifyHttpStatus)).toEqual(Array(6).fill('retry'));
    expect([301, 302, 400, 401, 404, 410, 422].map(classifyHttpStatus)).toEqual(Array(7).fill('fail'));
  });
});
