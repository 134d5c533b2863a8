// Loaded with --require by the test runner (test/run.js): TypeScript without a build step, the
// `src/...` path alias, and Jest-style globals on top of node:test.
process.env.TS_NODE_PROJECT = process.env.TS_NODE_PROJECT || require('node:path').join(__dirname, '..', '..', 'tsconfig.json');
process.env.TS_NODE_TRANSPILE_ONLY = 'true';
require('ts-node/register');
require('tsconfig-paths/register');
require('./test-globals');

// node:test sends SIGTERM to a test file it gave up on (a timeout). Leave at once: the app's graceful
// shutdown can wait on a dead connection, and a test app left running as a worker would act on the
// next files' flows in the suite's shared database.
process.on('SIGTERM', () => process.exit(143));
