import { planFires, safeNextFire } from 'src/schedules/schedule-plan';

const at = (iso: string): Date => new Date(iso);
const isos = (dates: Date[]): string[] => dates.map((d) => d.toISOString());
const FIVE_MIN = 300_000;

describe('planFires', () => {
  const every2s = { cron: '*/2 * * * * *', timezone: 'UTC' };

  it('runs the planned time once and plans the next one after now', () => {
    const plan = planFires(
      { ...every2s, nextFireAt: at('2026-01-01T10:00:00Z') },
      at('2026-01-01T10:00:00.120Z'),
      FIVE_MIN,
      100,
    );
    expect(isos(plan.run)).toEqual(['2026-01-01T10:00:00.000Z']);
    expect(plan.next?.toISOString()).toBe('2026-01-01T10:00:02.000Z');
    expect(plan.skipped).toBeUndefined();
  });

  it('does nothing before the planned time', () => {
    const plan = planFires(
      { ...every2s, nextFireAt: at('2026-01-01T10:00:02Z') },
      at('2026-01-01T10:00:01Z'),
      FIVE_MIN,
      100,
    );
    expect(plan.run).toEqual([]);
    expect(plan.next?.toISOString()).toBe('2026-01-01T10:00:02.000Z');
  });

  it('runs every planned time a late pass missed, each once, inside the window', () => {
    const plan = planFires(
      { ...every2s, nextFireAt: at('2026-01-01T10:00:00Z') },
      at('2026-01-01T10:00:05Z'),
      FIVE_MIN,
      100,
    );
    expect(isos(plan.run)).toEqual([
      '2026-01-01T10:00:00.000Z',
      '2026-01-01T10:00:02.000Z',
      '2026-01-01T10:00:04.000Z',
    ]);
    expect(plan.next?.toISOString()).toBe('2026-01-01T10:00:06.000Z');
  });

  it('skips planned times older than the window and runs the newer ones', () => {
    const plan = planFires(
      { cron: '* * * * *', timezone: 'UTC', nextFireAt: at('2026-01-01T09:50:00Z') },
      at('2026-01-01T10:00:30Z'),
      FIVE_MIN,
      100,
    );
    expect(isos(plan.run)).toEqual([
      '2026-01-01T09:56:00.000Z',
      '2026-01-01T09:57:00.000Z',
      '2026-01-01T09:58:00.000Z',
      '2026-01-01T09:59:00.000Z',
      '2026-01-01T10:00:00.000Z',
    ]);
    expect(plan.skipped).toEqual({ from: at('2026-01-01T09:50:00Z'), before: at('2026-01-01T09:55:30Z') });
    expect(plan.next?.toISOString()).toBe('2026-01-01T10:01:00.000Z');
  });

  it('counts a fire exactly at the window edge as inside it', () => {
    const plan = planFires(
      { cron: '* * * * *', timezone: 'UTC', nextFireAt: at('2026-01-01T09:54:00Z') },
      at('2026-01-01T09:59:00Z'),
      FIVE_MIN,
      100,
    );
    expect(plan.run).toHaveLength(6);
    expect(plan.run[0].toISOString()).toBe('2026-01-01T09:54:00.000Z');
    expect(plan.skipped).toBeUndefined();
  });

  it('runs a daily fire missed by a minute once, and skips one missed by ten', () => {
    const daily = { cron: '0 9 * * *', timezone: 'UTC', nextFireAt: at('2026-01-01T09:00:00Z') };
    const recent = planFires(daily, at('2026-01-01T09:01:00Z'), FIVE_MIN, 100);
    expect(isos(recent.run)).toEqual(['2026-01-01T09:00:00.000Z']);
    expect(recent.next?.toISOString()).toBe('2026-01-02T09:00:00.000Z');

    const old = planFires(daily, at('2026-01-01T09:10:00Z'), FIVE_MIN, 100);
    expect(old.run).toEqual([]);
    expect(old.skipped?.from.toISOString()).toBe('2026-01-01T09:00:00.000Z');
    expect(old.next?.toISOString()).toBe('2026-01-02T09:00:00.000Z');
  });

  it('with a zero window runs nothing late', () => {
    const plan = planFires(
      { ...every2s, nextFireAt: at('2026-01-01T10:00:00Z') },
      at('2026-01-01T10:00:03Z'),
      0,
      100,
    );
    expect(plan.run).toEqual([]);
    expect(plan.skipped).toBeDefined();
    expect(plan.next?.toISOString()).toBe('2026-01-01T10:00:04.000Z');
  });

  it('stops at the limit and plans the first fire left, so the next pass carries on', () => {
    const plan = planFires(
      { ...every2s, nextFireAt: at('2026-01-01T10:00:00Z') },
      at('2026-01-01T10:00:09Z'),
      FIVE_MIN,
      2,
    );
    expect(isos(plan.run)).toEqual(['2026-01-01T10:00:00.000Z', '2026-01-01T10:00:02.000Z']);
    expect(plan.next?.toISOString()).toBe('2026-01-01T10:00:04.000Z');
  });

  describe('a daily 02:30 schedule in Europe/Berlin across the DST changes', () => {
    const berlin = { cron: '30 2 * * *', timezone: 'Europe/Berlin' };

    it('is planned at 03:30 CEST on the spring-forward day (02:30 does not exist), then 02:30 again', () => {
      expect(safeNextFire(berlin.cron, berlin.timezone, at('2026-03-28T12:00:00Z'))?.toISOString()).toBe(
        '2026-03-29T01:30:00.000Z',
      );
      const plan = planFires(
        { ...berlin, nextFireAt: at('2026-03-29T01:30:00Z') },
        at('2026-03-29T01:30:00.200Z'),
        FIVE_MIN,
        100,
      );
      expect(isos(plan.run)).toEqual(['2026-03-29T01:30:00.000Z']);
      expect(plan.next?.toISOString()).toBe('2026-03-30T00:30:00.000Z');
    });

    it('fires once on the fall-back day, at the first 02:30 (CEST), not again at 02:30 CET', () => {
      expect(safeNextFire(berlin.cron, berlin.timezone, at('2026-10-24T12:00:00Z'))?.toISOString()).toBe(
        '2026-10-25T00:30:00.000Z',
      );
      const plan = planFires(
        { ...berlin, nextFireAt: at('2026-10-25T00:30:00Z') },
        at('2026-10-25T00:30:00.200Z'),
        FIVE_MIN,
        100,
      );
      expect(isos(plan.run)).toEqual(['2026-10-25T00:30:00.000Z']);
      expect(plan.next?.toISOString()).toBe('2026-10-26T01:30:00.000Z');
    });

    it('does not run the second 02:30 even when a pass happens inside the repeated hour', () => {
      const plan = planFires(
        { ...berlin, nextFireAt: at('2026-10-25T00:30:00Z') },
        at('2026-10-25T01:31:00Z'),
        2 * 3_600_000,
        100,
      );
      expect(isos(plan.run)).toEqual(['2026-10-25T00:30:00.000Z']);
    });
  });
});

describe('safeNextFire', () => {
  it('answers null instead of throwing for a cron that cannot be planned', () => {
    expect(safeNextFire('not a cron', 'UTC', at('2026-01-01T00:00:00Z'))).toBeNull();
  });
});
