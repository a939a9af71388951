// Goal: the docs a participant reads stay whole and true (issue 14). The README stays short (at
// most 15 KB), says `npm start` and, under "How to run tests", `npm test`; every page under docs/
// can be reached from the README by links; every relative link and anchor in README and docs/
// points at something that exists; every experiment script has its page with a block of output
// captured from a real run (`npm run docs:capture`) that ends as a passing run ends; the README's
// first session has its captured output; no capture marker is broken.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../../scripts/lib/cluster-processes.ts';
import { brokenMarkers, findBlocks } from '../../../scripts/docs/capture-blocks.ts';

const README_BYTES_MAX = 15_000;

const read = (file: string): string => readFileSync(path.join(REPO_ROOT, file), 'utf8');

function markdownFiles(dir: string): string[] {
  return readdirSync(path.join(REPO_ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return markdownFiles(file);
    return entry.name.endsWith('.md') ? [file] : [];
  });
}

const pages = ['README.md', ...markdownFiles('docs').sort()];

// Links outside code: [text](target) and ![alt](target), fenced blocks and inline code removed.
function links(markdown: string): string[] {
  const prose = markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] as string);
}

// GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens.
function anchors(markdown: string): Set<string> {
  const prose = markdown.replace(/```[\s\S]*?```/g, '');
  const slugs = new Set<string>();
  for (const match of prose.matchAll(/^#{1,6} (.+)$/gm)) {
    slugs.add((match[1] as string).toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-'));
  }
  return slugs;
}

// Where a relative link from `page` leads: [file relative to the repository, anchor].
function resolve(page: string, target: string): [string, string] {
  const [file = '', anchor = ''] = target.split('#');
  return [file === '' ? page : path.normalize(path.join(path.dirname(page), file)), anchor];
}

const isExternal = (target: string) => /^[a-z]+:/.test(target);

describe('the README', () => {
  it(`is at most ${README_BYTES_MAX} bytes`, () => {
    expect(statSync(path.join(REPO_ROOT, 'README.md')).size).toBeLessThanOrEqual(README_BYTES_MAX);
  });

  it('says npm start, and npm test under "How to run tests"', () => {
    const readme = read('README.md');
    expect(readme).toContain('npm start');
    const tests = readme.slice(readme.indexOf('### How to run tests'));
    expect(readme).toContain('### How to run tests');
    expect(tests.slice(0, tests.indexOf('\n## '))).toContain('npm test');
  });

  it('shows the first session with the output a fresh cluster gave', () => {
    const session = findBlocks(read('README.md')).find((b) => b.kind === 'session' && b.name === 'first-session');
    expect(session, 'README has the capture block "session first-session"').toBeDefined();
    const lines = session?.lines ?? [];
    const firstCommand = lines.findIndex((l) => l.startsWith('$ '));
    // The first write of a fresh cluster: LSN 1 at epoch 1, acknowledged by the primary and the mirror.
    expect(lines[firstCommand + 1]).toMatch(/^\{"key":"greeting","lsn":1,"epoch":1,"ackedBy":\["primary","mirror"\]/);
    expect(lines.some((l) => l.includes('"error":"standby_not_readable"'))).toBe(true);
  });
});

describe('the docs', () => {
  it('every page under docs/ is reachable from the README by links', () => {
    const reached = new Set<string>(['README.md']);
    const queue = ['README.md'];
    while (queue.length > 0) {
      const page = queue.shift() as string;
      for (const target of links(read(page))) {
        if (isExternal(target)) continue;
        const [file] = resolve(page, target);
        if (file.endsWith('.md') && !reached.has(file) && existsSync(path.join(REPO_ROOT, file))) {
          reached.add(file);
          queue.push(file);
        }
      }
    }
    expect(pages.filter((p) => !reached.has(p))).toEqual([]);
  });

  it('every relative link and anchor points at something that exists', () => {
    const broken: string[] = [];
    for (const page of pages) {
      for (const target of links(read(page))) {
        if (isExternal(target)) continue;
        const [file, anchor] = resolve(page, target);
        if (!existsSync(path.join(REPO_ROOT, file))) broken.push(`${page}: ${target} (no ${file})`);
        else if (anchor && file.endsWith('.md') && !anchors(read(file)).has(anchor)) broken.push(`${page}: ${target} (no heading #${anchor} in ${file})`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('has no broken capture marker', () => {
    expect(pages.filter((p) => brokenMarkers(read(p)) !== 0)).toEqual([]);
  });

  it('every experiment has its page with the captured output of a passing run', () => {
    const scripts = readdirSync(path.join(REPO_ROOT, 'scripts/experiments')).filter((f) => /^\d\d-.*\.sh$/.test(f));
    expect(scripts.length).toBeGreaterThanOrEqual(10);
    for (const script of scripts) {
      const name = script.replace(/\.sh$/, '');
      const page = `docs/experiments/${name}.md`;
      expect(existsSync(path.join(REPO_ROOT, page)), `${page} exists`).toBe(true);
      const block = findBlocks(read(page)).find((b) => b.kind === 'experiment' && b.name === name);
      expect(block, `${page} has the capture block "experiment ${name}"`).toBeDefined();
      const text = (block?.lines ?? []).join('\n');
      expect(text, `${page}: the captured run`).toMatch(/\ndone: \d+ checks passed\.\n/);
      expect(text).not.toContain('FAILED');
      // Captured on other ports, shown on the default ones.
      expect(text).not.toMatch(/127\.0\.0\.1:(?!700[0-5]\b)\d{4,5}/);
      for (const heading of ['## The question', '## Your prediction', '## Run it', '## What you should see', '## What it means', '## On the dashboard', '## Exercises']) {
        expect(read(page), `${page} has "${heading}"`).toContain(`\n${heading}\n`);
      }
    }
  });
});
