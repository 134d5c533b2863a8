// Loaded with --require by the test runner (test/run.js): TypeScript without a build step, the
// `src/...` path alias, and Jest-style globals on top of node:test.
process.env.TS_NODE_PROJECT = process.env.TS_NODE_PROJECT || require('node:path').join(__dirname, '..', '..', 'tsconfig.json');
process.env.TS_NODE_TRANSPILE_ONLY = 'true';
require('ts-node/register');
require('tsconfig-paths/register');
require('./test-globals');
