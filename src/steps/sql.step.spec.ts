import 'reflect-metadata';
import { validateShape } from 'src/common/validate-shape';
import { toJsonRows } from 'src/steps/connections/sql-connection';
import { SqlStepDto, sqlStep } from 'src/steps/sql.step';

const input = {
  event: { body: { name: "o'hara; DROP TABLE t; --", tags: ['a'] } },
  steps: {},
  flow: { id: 'f', name: 'n', version: 1 },
  execution: { id: 'e' },
};
const ctx = {
  input,
  bindings: { secrets: { DB: 'postgres://app:s3cret@db.internal/app' } },
  depth: 0,
  services: { slackApiUrl: '' },
};
const def = {
  id: 'q',
  type: 'sql',
  url: '{{ $secrets.DB }}',
  query: 'INSERT INTO t (name, tags, note) VALUES ($1, $2, $3) -- {{ kept as text }}',
  params: ['{{ event.body.name }}', '{{ event.body.tags }}', '{{ event.body.none }}'],
} as SqlStepDto;

describe('sql step', () => {
  it('validates url, query and params', () => {
    expect(validateShape(SqlStepDto, def, 's').errors).toEqual([]);
    const { errors } = validateShape(
      SqlStepDto,
      { id: 'q', type: 'sql', url: 'mysql://h', params: 'x' },
      's',
    );
    expect(errors).toEqual(expect.arrayContaining(['s.query must be a string', 's.params must be an array']));
  });

  it('keeps the query as written and renders only params (nothing becomes null)', async () => {
    const preview = await sqlStep.preview!(sqlStep.compile(def, 's'), def, ctx);
    expect(preview).toEqual({
      request: {
        url: 'postgres://***@db.internal/app',
        query: def.query,
        params: ["o'hara; DROP TABLE t; --", ['a'], null],
      },
    });
  });

  it.each(['sqlite:///tmp/x', 'mongodb://h/db'])('refuses %s', async (url) => {
    const d = { ...def, url };
    await expect(sqlStep.preview!(sqlStep.compile(d, 's'), d, ctx)).rejects.toMatchObject({
      retryable: false,
    });
  });

  it('hands back JSON-safe rows, at most 1,000', () => {
    const rows = Array.from({ length: 1200 }, (_v, i) => ({
      i,
      at: new Date(Date.UTC(2024, 0, 1)),
      raw: Buffer.from('hi'),
      big: 2n ** 70n,
    }));
    const out = toJsonRows(rows);
    expect(out).toHaveLength(1000);
    expect(out[0]).toEqual({
      i: 0,
      at: '2024-01-01T00:00:00.000Z',
      raw: 'aGk=',
      big: '1180591620717411303424',
    });
  });
});
