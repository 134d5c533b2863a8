import { CronExpressionParser } from 'cron-parser';
import { describeNextFires, firesBetween, nextFireAfter } from 'src/schedules/cron';

const at = (iso: string): Date => new Date(iso);
const isos = (dates: Date[]): string[] => dates.map((date) => date.toISOString());

/** Planned fires grouped by local calendar day: `{ '2026-03-29': 1, … }`. */
function firesPerLocalDay(dates: Date[], timeZone: string): Record<string, number> {
  const day = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  });
  const counts: Record<string, number> = {};
  for (const date of dates) {
    const key = day.format(date);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

function localTime(date: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', {
    timeZone,
    hour: '2-digit',
    minute: '2-digit',
    timeZoneName: 'short',
  }).format(date);
}

describe('a cron that validateCron refuses', () => {
  it('makes the planning functions throw its message', () => {
    expect(() => nextFireAfter('61 * * * *', undefined, at('2026-01-01T00:00:00Z'))).toThrow(
      'cron minute field "61"',
    );
    expect(() =>
      firesBetween('0 9 * * *', 'Nowhere/City', at('2026-01-01T00:00:00Z'), at('2026-01-02T00:00:00Z'), 5),
    ).toThrow('unknown timezone "Nowhere/City"');
  });
});

describe('nextFireAfter', () => {
  it('fires every 2 seconds with a seconds field, strictly after the given time', () => {
    expect(nextFireAfter('*/2 * * * * *', undefined, at('2026-01-01T00:00:00Z')).toISOString()).toBe(
      '2026-01-01T00:00:02.000Z',
    );
    expect(nextFireAfter('*/2 * * * * *', undefined, at('2026-01-01T00:00:01.999Z')).toISOString()).toBe(
      '2026-01-01T00:00:02.000Z',
    );
    expect(nextFireAfter('*/2 * * * * *', undefined, at('2026-01-01T00:00:02Z')).toISOString()).toBe(
      '2026-01-01T00:00:04.000Z',
    );
    expect(describeNextFires('*/2 * * * * *', undefined, at('2026-01-01T23:59:57Z'), 3)).toEqual([
      '2026-01-01T23:59:58.000Z',
      '2026-01-02T00:00:00.000Z',
      '2026-01-02T00:00:02.000Z',
    ]);
  });

  it('reads a 5-field cron as minute precision in UTC by default', () => {
    expect(nextFireAfter('*/5 * * * *', undefined, at('2026-01-01T10:02:30Z')).toISOString()).toBe(
      '2026-01-01T10:05:00.000Z',
    );
    expect(nextFireAfter('*/5 * * * *', undefined, at('2026-01-01T10:05:00Z')).toISOString()).toBe(
      '2026-01-01T10:10:00.000Z',
    );
    expect(nextFireAfter('0 9 * * *', 'UTC', at('2026-01-01T09:00:00.001Z')).toISOString()).toBe(
      '2026-01-02T09:00:00.000Z',
    );
  });

  it('fires a New York weekday 09:00 cron on Monday after a Friday, in local time', () => {
    // Friday 2026-01-09 10:00 EST (UTC-5).
    expect(describeNextFires('0 9 * * 1-5', 'America/New_York', at('2026-01-09T15:00:00Z'), 3)).toEqual([
      '2026-01-12T14:00:00.000Z',
      '2026-01-13T14:00:00.000Z',
      '2026-01-14T14:00:00.000Z',
    ]);
    // Friday 2026-03-06 10:00 EST; DST starts on Sunday 2026-03-08, so Monday 09:00 is EDT (UTC-4).
    expect(describeNextFires('0 9 * * 1-5', 'America/New_York', at('2026-03-06T15:00:00Z'), 3)).toEqual([
      '2026-03-09T13:00:00.000Z',
      '2026-03-10T13:00:00.000Z',
      '2026-03-11T13:00:00.000Z',
    ]);
    // Friday before 09:00 still fires that Friday.
    expect(nextFireAfter('0 9 * * 1-5', 'America/New_York', at('2026-01-09T13:59:59Z')).toISOString()).toBe(
      '2026-01-09T14:00:00.000Z',
    );
  });
});

describe('daylight saving time in Europe/Berlin, daily 30 2 * * *', () => {
  const cron = '30 2 * * *';
  const tz = 'Europe/Berlin';

  describe('spring forward, 2026-03-29 (02:30 does not exist)', () => {
    it('cron-parser moves the fire forward by the gap, to 03:30 CEST', () => {
      const raw = CronExpressionParser.parse(cron, { currentDate: at('2026-03-27T12:00:00Z'), tz }).take(3);
      expect(raw.map((date) => date.toISOString())).toEqual([
        '2026-03-28T01:30:00.000Z', // 02:30 CET
        '2026-03-29T01:30:00.000Z', // 03:30 CEST
        '2026-03-30T00:30:00.000Z', // 02:30 CEST
      ]);
    });

    it('fires once that day, at 03:30 CEST', () => {
      const fire = nextFireAfter(cron, tz, at('2026-03-28T12:00:00Z'));
      expect(fire.toISOString()).toBe('2026-03-29T01:30:00.000Z');
      expect(localTime(fire, tz)).toBe('03:30 CEST');
      const week = firesBetween(cron, tz, at('2026-03-25T12:00:00Z'), at('2026-04-02T12:00:00Z'), 100);
      expect(Object.values(firesPerLocalDay(week, tz))).toEqual(Array<number>(8).fill(1));
      expect(Object.keys(firesPerLocalDay(week, tz))).toContain('2026-03-29');
    });
  });

  describe('fall back, 2026-10-25 (02:30 happens twice)', () => {
    it('cron-parser fires once when iterating through, but yields the second 02:30 when started inside it', () => {
      const through = CronExpressionParser.parse(cron, { currentDate: at('2026-10-24T12:00:00Z'), tz }).take(
        2,
      );
      expect(through.map((date) => date.toISOString())).toEqual([
        '2026-10-25T00:30:00.000Z',
        '2026-10-26T01:30:00.000Z',
      ]);
      const inside = CronExpressionParser.parse(cron, { currentDate: at('2026-10-25T01:00:00Z'), tz }).next();
      expect(inside.toISOString()).toBe('2026-10-25T01:30:00.000Z'); // 02:30 CET, the repeat
    });

    it('fires once that day, at the first 02:30 (CEST), wherever the search starts', () => {
      expect(nextFireAfter(cron, tz, at('2026-10-24T12:00:00Z')).toISOString()).toBe(
        '2026-10-25T00:30:00.000Z',
      );
      expect(localTime(at('2026-10-25T00:30:00Z'), tz)).toBe('02:30 CEST');
      expect(nextFireAfter(cron, tz, at('2026-10-25T00:30:00Z')).toISOString()).toBe(
        '2026-10-26T01:30:00.000Z',
      );
      expect(nextFireAfter(cron, tz, at('2026-10-25T01:00:00Z')).toISOString()).toBe(
        '2026-10-26T01:30:00.000Z',
      );
      expect(
        isos(firesBetween(cron, tz, at('2026-10-25T00:45:00Z'), at('2026-10-25T23:00:00Z'), 10)),
      ).toEqual([]);
      const week = firesBetween(cron, tz, at('2026-10-21T12:00:00Z'), at('2026-10-29T12:00:00Z'), 100);
      expect(Object.values(firesPerLocalDay(week, tz))).toEqual(Array<number>(8).fill(1));
      expect(Object.keys(firesPerLocalDay(week, tz))).toContain('2026-10-25');
    });

    it('drops second-pass fires of a fixed hour but keeps them for a wildcard hour', () => {
      expect(
        isos(firesBetween('*/30 2 * * *', tz, at('2026-10-24T12:00:00Z'), at('2026-10-25T12:00:00Z'), 10)),
      ).toEqual(['2026-10-25T00:00:00.000Z', '2026-10-25T00:30:00.000Z']);
      expect(
        isos(firesBetween('*/30 * * * *', tz, at('2026-10-24T23:59:00Z'), at('2026-10-25T02:00:00Z'), 10)),
      ).toEqual([
        '2026-10-25T00:00:00.000Z', // 02:00 CEST
        '2026-10-25T00:30:00.000Z', // 02:30 CEST
        '2026-10-25T01:00:00.000Z', // 02:00 CET
        '2026-10-25T01:30:00.000Z', // 02:30 CET
        '2026-10-25T02:00:00.000Z', // 03:00 CET
      ]);
    });
  });
});

describe('firesBetween', () => {
  const hourly = '0 * * * *';

  it('excludes the start and includes the end', () => {
    expect(
      isos(firesBetween(hourly, undefined, at('2026-01-01T10:00:00Z'), at('2026-01-01T13:00:00Z'), 10)),
    ).toEqual(['2026-01-01T11:00:00.000Z', '2026-01-01T12:00:00.000Z', '2026-01-01T13:00:00.000Z']);
  });

  it('returns the earliest fires up to the limit', () => {
    expect(
      isos(firesBetween(hourly, undefined, at('2026-01-01T10:00:00Z'), at('2026-01-02T10:00:00Z'), 2)),
    ).toEqual(['2026-01-01T11:00:00.000Z', '2026-01-01T12:00:00.000Z']);
    expect(
      firesBetween(hourly, undefined, at('2026-01-01T10:00:00Z'), at('2026-01-02T10:00:00Z'), 24),
    ).toHaveLength(24);
  });

  it('returns nothing for an empty window or a zero limit', () => {
    expect(
      firesBetween(hourly, undefined, at('2026-01-01T10:00:00Z'), at('2026-01-01T10:59:59Z'), 10),
    ).toEqual([]);
    expect(
      firesBetween(hourly, undefined, at('2026-01-01T10:00:00Z'), at('2026-01-01T10:00:00Z'), 10),
    ).toEqual([]);
    expect(
      firesBetween(hourly, undefined, at('2026-01-01T12:00:00Z'), at('2026-01-01T10:00:00Z'), 10),
    ).toEqual([]);
    expect(
      firesBetween(hourly, undefined, at('2026-01-01T10:00:00Z'), at('2026-01-01T13:00:00Z'), 0),
    ).toEqual([]);
  });
});

describe('describeNextFires', () => {
  it('lists ISO times in the timezone', () => {
    expect(describeNextFires('0 0 1 * *', 'Asia/Tokyo', at('2026-01-15T00:00:00Z'), 2)).toEqual([
      '2026-01-31T15:00:00.000Z',
      '2026-02-28T15:00:00.000Z',
    ]);
    expect(describeNextFires('0 0 1 * *', 'Asia/Tokyo', at('2026-01-15T00:00:00Z'), 0)).toEqual([]);
  });
});
