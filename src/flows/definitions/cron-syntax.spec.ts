import { validateCron } from 'src/flows/definitions/cron-syntax';

describe('validateCron', () => {
  it.each(['*/5 * * * *', '*/2 * * * * *', '0 9 * * 1-5', '0 0 29 2 *', '15 10 * JAN-MAR MON,THU'])(
    'accepts %s',
    (cron) => {
      expect(validateCron(cron)).toBeNull();
      expect(validateCron(cron, 'Europe/Berlin')).toBeNull();
    },
  );

  it.each([
    ['', 'cron is empty'],
    [
      '* * * *',
      'cron "* * * *" has 4 field(s): expected 5 (minute hour day-of-month month day-of-week) or 6 with a leading seconds field',
    ],
    ['* * * * * * *', 'has 7 field(s)'],
    ['@daily', 'has 1 field(s)'],
    ['61 * * * *', 'cron minute field "61": Constraint error, got value 61 expected range 0-59'],
    ['0 24 * * *', 'cron hour field "24"'],
    ['* * * * 8', 'cron day-of-week field "8"'],
    ['60 * * * * *', 'cron second field "60"'],
    ['a * * * *', 'cron minute field "a"'],
    ['5-1 * * * *', 'cron minute field "5-1": Invalid range'],
    ['0 0 30 2 *', 'cron "0 0 30 2 *": Invalid explicit day of month definition'],
    ['H * * * *', 'cron minute field "H": the H (random) syntax is not supported'],
  ])('rejects %j', (cron, message) => {
    expect(validateCron(cron)).toContain(message);
  });

  it('rejects an unknown timezone by name', () => {
    expect(validateCron('0 9 * * *', 'Mars/Olympus_Mons')).toBe(
      'unknown timezone "Mars/Olympus_Mons": use an IANA name such as "Europe/Berlin" or "UTC"',
    );
    expect(validateCron('0 9 * * *', '')).toContain('unknown timezone ""');
  });
});
