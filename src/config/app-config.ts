import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Config } from 'src/config/env';

/** The validated configuration, injected wherever a setting is read. */
export class AppConfig {
  constructor(readonly values: Config) {}
}

/**
 * Outside production a missing API_KEY is generated per start (printed once by main.ts) and a
 * missing SECRETS_KEY is generated once and kept in .hookflow/secrets.key (git-ignored), so that
 * secrets stored in development survive restarts.
 */
export function withDevelopmentKeys(
  config: Config,
  dir = process.cwd(),
): Config & { generatedApiKey: boolean } {
  let { API_KEY, SECRETS_KEY } = config;
  const generatedApiKey = !API_KEY;
  if (!API_KEY) API_KEY = `hf_${randomBytes(24).toString('base64url')}`;
  if (!SECRETS_KEY) {
    const file = join(dir, '.hookflow', 'secrets.key');
    if (existsSync(file)) {
      SECRETS_KEY = readFileSync(file, 'utf8').trim();
    } else {
      SECRETS_KEY = randomBytes(32).toString('base64');
      mkdirSync(join(dir, '.hookflow'), { recursive: true, mode: 0o700 });
      writeFileSync(file, `${SECRETS_KEY}\n`, { mode: 0o600 });
    }
  }
  return { ...config, API_KEY, SECRETS_KEY, generatedApiKey };
}
