// Jest-style globals (describe/it/expect/beforeAll/...) over node:test and the `expect` package.
// Why not Jest itself: NestJS 12 ships as ES modules, which Jest's CommonJS runtime cannot load on
// Node 20, while Node's own require() can.
const t = require('node:test');
const { format } = require('node:util');
const { expect } = require('expect');

function title(name, row, index) {
  if (typeof name !== 'string') return String(name);
  if (row !== null && typeof row === 'object' && !Array.isArray(row) && name.includes('$')) {
    return name.replace(/\$([A-Za-z_][A-Za-z0-9_]*)/g, (_, key) => String(row[key]));
  }
  const args = Array.isArray(row) ? row : [row];
  let i = 0;
  return name.replace(/%[sdijpo#%]/g, (spec) => {
    if (spec === '%%') return '%';
    if (spec === '%#') return String(index);
    const v = args[i++];
    return spec === '%j' ? JSON.stringify(v) : format(spec === '%p' ? '%o' : spec, v);
  });
}

function withEach(fn) {
  const wrapped = (name, body, _timeout) => fn(name, body);
  wrapped.each = (table) => (name, body) =>
    table.forEach((row, index) => fn(title(name, row, index), () => (Array.isArray(row) ? body(...row) : body(row))));
  wrapped.skip = (name, body) => fn(name, { skip: true }, body);
  wrapped.only = (name, body) => fn(name, { only: true }, body);
  return wrapped;
}

Object.assign(globalThis, {
  describe: withEach(t.describe),
  it: withEach(t.it),
  test: withEach(t.it),
  beforeAll: t.before,
  afterAll: t.after,
  beforeEach: t.beforeEach,
  afterEach: t.afterEach,
  expect,
});
