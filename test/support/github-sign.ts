import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

// @octokit/webhooks-methods is ESM only (with top-level await), which the test runtime's require()
// cannot load: a child Node process signs with the provider's own library.
const GITHUB_SIGN = `
import { sign } from '@octokit/webhooks-methods';
const { secret, payload } = JSON.parse(process.argv[1]);
process.stdout.write(await sign(secret, payload));
`;

/** `sha256=<hex>` for X-Hub-Signature-256, made by GitHub's own library. */
export async function githubSign(secret: string, payload: string): Promise<string> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--input-type=module', '-e', GITHUB_SIGN, JSON.stringify({ secret, payload })],
    { cwd: join(__dirname, '..', '..'), timeout: 10_000 },
  );
  return stdout;
}
