#!/usr/bin/env node
// The test runner behind `npm test`: node:test over TypeScript (test/support/register.js).
// Usage: node test/run.js [unit] [e2e] [faults] [-- file...]. e2e and fault suites get a database
// and a Bull key prefix of their own, made here and removed afterwards.
const { spawn, spawnSync } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const { readdirSync, statSync } = require('node:fs');
const { join, relative } = require('node:path');

const root = join(__dirname, '..');
// timeout: per file (node:test); budget: the whole suite, after which its process group is killed.
const SUITES = {
  unit: { dir: 'src', match: /\.spec\.ts$/, timeout: 60_000, budget: 15 * 60_000 },
  e2e: { dir: 'test', match: /\.e2e-spec\.ts$/, timeout: 180_000, budget: 35 * 60_000, shallow: true },
  faults: { dir: 'test/faults', match: /\.fault-spec\.ts$/, timeout: 420_000, budget: 25 * 60_000 },
};

function find(dir, match, shallow) {
  const out = [];
  for (const name of readdirSync(join(root, dir))) {
    const path = join(root, dir, name);
    if (statSync(path).isDirectory()) {
      if (!shallow && name !== 'node_modules') out.push(...find(relative(root, path), match, shallow));
    } else if (match.test(name)) out.push(relative(root, path));
  }
  return out.sort();
}

function psql(url, sql) {
  const r = spawnSync('node', ['-e', `
    const { Client } = require('pg');
    const c = new Client({ connectionString: process.argv[1] });
    c.connect().then(() => c.query(process.argv[2])).then(() => c.end()).catch((e) => { console.error(e.message); process.exit(1); });
  `, url, sql], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`could not run: ${sql}`);
}

function dropRedisPrefix(redisUrl, prefix) {
  spawnSync('node', ['-e', `
    const Redis = require('ioredis');
    const r = new Redis(process.argv[1], { maxRetriesPerRequest: 2 });
    (async () => {
      let cursor = '0', rounds = 0;
      do {
        const [next, keys] = await r.scan(cursor, 'MATCH', process.argv[2] + ':*', 'COUNT', 1000);
        if (keys.length) await r.del(...keys);
        cursor = next;
      } while (cursor !== '0' && ++rounds < 100000);
      r.disconnect();
    })().catch((e) => { console.error(e.message); process.exit(1); });
  `, redisUrl, prefix], { cwd: root, stdio: 'inherit' });
}

/**
 * Runs one suite in a process group of its own and, when it ends, kills what is left of the group:
 * a test file that node:test gave up on must not leave an app running into the next suite (or keep
 * this runner waiting on its pipes). Past the suite's budget the whole group is killed.
 */
function runSuite(name, args, env, budgetMs) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, args, { cwd: root, env, stdio: 'inherit', detached: true });
    const killGroup = () => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // the group is gone already
      }
    };
    const onSignal = () => {
      killGroup();
      process.exit(130);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    let overBudget = false;
    const timer = setTimeout(() => {
      overBudget = true;
      console.error(`\n== ${name}: over its ${budgetMs / 60_000} min budget; killing it ==`);
      killGroup();
    }, budgetMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      killGroup();
      const secs = Math.round((Date.now() - started) / 1000);
      console.log(`== ${name}: ${code === 0 ? 'passed' : 'FAILED'} in ${secs} s ==`);
      resolve(code === 0 && !signal && !overBudget);
    });
  });
}

async function main() {
  const args = process.argv.slice(2);
  const sep = args.indexOf('--');
  const names = (sep === -1 ? args : args.slice(0, sep)).filter(Boolean);
  const explicit = sep === -1 ? [] : args.slice(sep + 1);
  const suites = names.length ? names : ['unit', 'e2e'];
  let failed = false;
  for (const name of suites) {
    const suite = SUITES[name];
    if (!suite) throw new Error(`unknown suite ${name}`);
    const files = explicit.length ? explicit : find(suite.dir, suite.match, suite.shallow);
    if (files.length === 0) continue;
    const env = { ...process.env, NODE_ENV: 'test', LOG_LEVEL: process.env.LOG_LEVEL || 'warn' };
    let dbName;
    const base = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
    if (name !== 'unit') {
      const suffix = `${process.pid}_${randomBytes(3).toString('hex')}`;
      dbName = `hookflow_test_${suffix}`;
      psql(base, `CREATE DATABASE ${dbName}`);
      const url = new URL(base);
      url.pathname = `/${dbName}`;
      env.DATABASE_URL = url.toString();
      env.QUEUE_PREFIX = `hftest_${suffix}`;
    }
    console.log(`\n== ${name}: ${files.length} file(s) ==`);
    const passed = await runSuite(
      name,
      ['--require', './test/support/register.js', '--test', '--test-concurrency=1', `--test-timeout=${suite.timeout}`, '--test-reporter=spec', ...files],
      env,
      suite.budget,
    );
    if (dbName) {
      psql(base, `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      dropRedisPrefix(env.REDIS_URL || 'redis://127.0.0.1:6379', env.QUEUE_PREFIX);
    }
    if (!passed) failed = true;
  }
  process.exit(failed ? 1 : 0);
}

main();
