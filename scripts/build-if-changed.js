#!/usr/bin/env node
// `npm start` runs this before `node dist/main.js`: it runs `npm run build` only when the build's
// inputs changed since the last successful build, so restarting a built checkout takes seconds,
// not the ~25 s of a full build. `npm run build` always builds; `rm -rf dist` forces this one to.
//
// The last build's inputs are kept as one fingerprint in dist/.build-inputs: every input file's
// path, size and mtime. A file edited, added, removed or restored with an older mtime changes it.
const { spawnSync } = require('node:child_process');
const { createHash } = require('node:crypto');
const { existsSync, readdirSync, readFileSync, statSync, writeFileSync } = require('node:fs');
const { join, relative } = require('node:path');

const root = join(__dirname, '..');
const STAMP = join(root, 'dist', '.build-inputs');
const INPUT_DIRS = ['src', 'migrations', 'console'];
const INPUT_FILES = /^(tsconfig.*\.json|package\.json|package-lock\.json)$/;
const OUTPUTS = ['dist/main.js', 'dist/console-ui/index.html'];
const SKIP_DIRS = new Set(['node_modules', 'dist']);

function walk(dir, out) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) walk(path, out);
    } else if (entry.isFile()) out.push(path);
  }
  return out;
}

/** One hash over path, size and mtime of every input of `npm run build`. */
function fingerprint() {
  const files = INPUT_DIRS.filter((d) => existsSync(join(root, d))).flatMap((d) => walk(join(root, d), []));
  for (const name of readdirSync(root)) if (INPUT_FILES.test(name)) files.push(join(root, name));
  const hash = createHash('sha256');
  for (const file of files.sort()) {
    const s = statSync(file);
    hash.update(`${relative(root, file)}\0${s.size}\0${s.mtimeMs}\n`);
  }
  return hash.digest('hex');
}

function main() {
  const current = fingerprint();
  const built = existsSync(STAMP) ? readFileSync(STAMP, 'utf8').trim() : '';
  const complete = OUTPUTS.every((f) => existsSync(join(root, f)));
  if (complete && built === current) {
    process.stdout.write(
      'hookflow: sources unchanged since the last build; starting dist/ (npm run build rebuilds)\n',
    );
    return;
  }
  process.stdout.write(
    `hookflow: ${complete ? 'sources changed' : 'no complete build yet'}; running npm run build\n`,
  );
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
  // The fingerprint of what was built: taken before the build, so an edit made during it rebuilds next time.
  writeFileSync(STAMP, `${current}\n`);
}

main();
