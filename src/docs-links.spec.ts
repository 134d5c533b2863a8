import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

// The README and docs/ are read by people who have only this repository: every relative link must
// reach a file in it, and every #anchor into a Markdown file one of its headings.
const root = join(__dirname, '..');
const pages = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** Markdown without its fenced code blocks and inline code, where `[x](y)` is not a link. */
function prose(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
}

/** Link targets: `[text](target)` and `![alt](target)`, without an optional "title". */
function links(markdown: string): string[] {
  return [...prose(markdown).matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]);
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of markdown.replace(/^```[\s\S]*?^```/gm, '').matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = m[1]
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

function brokenLinks(page: string): string[] {
  const text = readFileSync(join(root, page), 'utf8');
  const broken: string[] = [];
  for (const target of links(text)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto:
    const [path, anchor] = target.split('#', 2);
    const file = path === '' ? join(root, page) : resolve(dirname(join(root, page)), decodeURI(path));
    if (!file.startsWith(root + '/') || !existsSync(file)) {
      broken.push(`${target} (no such file)`);
      continue;
    }
    if (anchor && file.endsWith('.md') && statSync(file).isFile()) {
      if (!anchors(readFileSync(file, 'utf8')).has(anchor))
        broken.push(`${target} (no heading #${anchor} in ${relative(root, file)})`);
    }
  }
  return broken;
}

describe('documentation links', () => {
  it('finds the README and the docs pages', () => {
    expect(pages).toContain('README.md');
    expect(pages.length).toBeGreaterThan(1);
  });

  for (const page of pages) {
    it(`${page}: every relative link points at a file that exists`, () => {
      expect(brokenLinks(page)).toEqual([]);
    });
  }

  it('never points users at the contract outside this repository', () => {
    for (const page of pages) {
      for (const target of links(readFileSync(join(root, page), 'utf8')))
        expect(target).not.toMatch(/shared\//);
    }
  });

  it('reads links and anchors the way GitHub does', () => {
    expect(links('see [a](docs/a.md#x) and ![i](s.png "t"), not `[b](c.md)`')).toEqual([
      'docs/a.md#x',
      's.png',
    ]);
    const headings = anchors(
      '# Verification (`trigger.verify`)\n## Retry, replay, cancel\n## Retry, replay, cancel\n',
    );
    expect([...headings]).toEqual([
      'verification-triggerverify',
      'retry-replay-cancel',
      'retry-replay-cancel-1',
    ]);
    expect(anchors('## Walk-through: GitHub push → Slack').has('walk-through-github-push--slack')).toBe(true);
  });
});
