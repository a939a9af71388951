// The README's "A first curl session", run as a participant runs it: each command of the README's
// code block exactly as written, through bash, against the cluster on the host's ports 7000-7004.
// Each command has an expectation of what it prints; a README command without one is an error, so
// the README and the check cannot drift apart (tests/unit/scripts/curl-session.test.ts holds them together without an engine).

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { findBlocks, sessionCommands } from '../docs/capture-blocks.ts';
import { runCommand } from './command.ts';

export const CURL_SESSION_HEADING = '## A first curl session';

// A command that prints nothing useful within this bound is stuck.
const CURL_COMMAND_TIMEOUT_MS = 10_000;
// A read from an async replica may come a moment before the write reached it (the README says
// "a moment later"); such a read is repeated until this deadline, as a person would retry.
const REPLICA_READ_DEADLINE_MS = 5_000;
const REPLICA_READ_INTERVAL_MS = 200;

export interface SessionExpectation {
  // Picks the README command this expectation is about.
  matches: RegExp;
  what: string;
  // A read that may be repeated (it changes nothing).
  retry: boolean;
  // Returns what is wrong with the command's output, or '' when it printed what the README says.
  check: (output: string) => string;
}

function json(output: string): any {
  try {
    return JSON.parse(output);
  } catch {
    return undefined;
  }
}

// Returns '' when every [field, expected] holds in the JSON output, else the first that does not.
function fields(output: string, expected: Record<string, (value: any) => boolean>): string {
  const body = json(output);
  if (body === undefined) return `not JSON: ${output.slice(0, 300)}`;
  for (const [name, holds] of Object.entries(expected)) {
    if (!holds(body[name])) return `"${name}" is ${JSON.stringify(body[name])} in ${output.slice(0, 400)}`;
  }
  return '';
}

const isHelloWorld = (v: any) => JSON.stringify(v) === '{"hello":"world"}';

export const sessionExpectations: readonly SessionExpectation[] = [
  {
    matches: /^curl .*-X PUT .*127\.0\.0\.1:7001\/kv\/greeting$/,
    what: 'a write on the primary, acknowledged by the primary and its sync mirror',
    retry: false,
    check: (out) => fields(out, { key: (v) => v === 'greeting', ackedBy: (v) => Array.isArray(v) && v.includes('primary') && v.includes('mirror'), epoch: (v) => v >= 1 }),
  },
  {
    matches: /^curl -s http:\/\/127\.0\.0\.1:7003\/kv\/greeting$/,
    what: 'the value read from replica-1',
    retry: true,
    check: (out) => fields(out, { value: isHelloWorld, servedBy: (v) => v === 'replica-1' }),
  },
  {
    matches: /^curl -s 'http:\/\/127\.0\.0\.1:7004\/kv\/greeting\?minLsn=\d+&waitMs=\d+'$/,
    what: 'a read-your-writes read from replica-2',
    retry: true,
    check: (out) => fields(out, { value: isHelloWorld, servedBy: (v) => v === 'replica-2' }),
  },
  {
    matches: /^curl -si -X PUT .*127\.0\.0\.1:7003\/kv\/note \| head -3$/,
    what: "a write on a replica: 307 to the primary's host port",
    retry: false,
    check: (out) => {
      if (!/^HTTP\/1\.1 307/.test(out)) return `no 307 status line: ${out.slice(0, 300)}`;
      return /^location: http:\/\/127\.0\.0\.1:7001\/kv\/note\r?$/im.test(out) ? '' : `no Location at http://127.0.0.1:7001/kv/note: ${out.slice(0, 300)}`;
    },
  },
  {
    matches: /^curl -sL -X PUT .*127\.0\.0\.1:7004\/kv\/via-replica$/,
    what: 'curl -L follows the redirect to the primary',
    retry: false,
    check: (out) => fields(out, { key: (v) => v === 'via-replica', lsn: (v) => v >= 1 }),
  },
  {
    matches: /^curl -s http:\/\/127\.0\.0\.1:7002\/kv\/greeting$/,
    what: 'the mirror refuses reads',
    retry: false,
    check: (out) => fields(out, { error: (v) => v === 'standby_not_readable' }),
  },
  {
    matches: /^curl -s http:\/\/127\.0\.0\.1:7001\/status$/,
    what: "the primary's status",
    retry: false,
    check: (out) => fields(out, { id: (v) => v === 'primary', role: (v) => v === 'primary', mirror: (v) => v?.id === 'mirror' }),
  },
  {
    matches: /^curl -s http:\/\/127\.0\.0\.1:7000\/cluster$/,
    what: "control's view of the cluster",
    retry: false,
    check: (out) => fields(out, { primary: (v) => v === 'primary', nodes: (v) => ['primary', 'mirror', 'replica-1', 'replica-2'].every((id) => v?.[id]?.role !== undefined) }),
  },
];

// The commands of the README's session under the heading, one per line, comments removed: the
// `$ ` lines of its captured block (scripts/docs/capture-blocks.ts; the other lines are output).
export function readmeCurlSession(readme: string): string[] {
  const start = readme.indexOf(`\n${CURL_SESSION_HEADING}\n`);
  if (start < 0) throw new Error(`README.md has no "${CURL_SESSION_HEADING}" section`);
  const block = findBlocks(readme.slice(start)).find((b) => b.kind === 'session');
  if (!block) throw new Error(`README.md's "${CURL_SESSION_HEADING}" has no captured session block`);
  return sessionCommands(block)
    .map((line) => line.replace(/\s+#\s.*$/, '').trim())
    .filter((line) => line !== '');
}

// Each README command with its expectation; throws when the two do not pair one to one.
export function pairSession(commands: readonly string[]): Array<{ command: string; expectation: SessionExpectation }> {
  const pairs = commands.map((command) => {
    const found = sessionExpectations.filter((e) => e.matches.test(command));
    if (found.length !== 1) throw new Error(`README command ${JSON.stringify(command)} matches ${found.length} expectations of the curl-session check (scripts/workshop-check/curl-session.ts); it needs exactly one`);
    return { command, expectation: found[0] as SessionExpectation };
  });
  // The session may be shorter or longer (the README decides), but it starts with the write the
  // others read.
  if (pairs[0]?.expectation !== sessionExpectations[0]) throw new Error(`the README's curl session must start with ${sessionExpectations[0]?.what}`);
  return pairs;
}

export function readReadme(repoRoot: string): string {
  return readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
}

// Runs the session in order; throws at the first command whose output is not what the README says.
export async function runCurlSession(repoRoot: string, note: (line: string) => void): Promise<void> {
  for (const { command, expectation } of pairSession(readmeCurlSession(readReadme(repoRoot)))) {
    const deadline = Date.now() + (expectation.retry ? REPLICA_READ_DEADLINE_MS : 0);
    let attempts = 0;
    for (;;) {
      attempts += 1;
      const result = await runCommand('bash', ['-c', command], { timeoutMs: CURL_COMMAND_TIMEOUT_MS });
      const problem = result.code !== 0 ? `exited ${result.code}: ${result.stderr.trim()}` : expectation.check(result.stdout.trim());
      if (problem === '') {
        note(`$ ${command}`);
        note(`  ${expectation.what}${attempts > 1 ? ` (after ${attempts} tries)` : ''}: ${result.stdout.trim().split('\n')[0]?.slice(0, 110)}`);
        break;
      }
      if (Date.now() + REPLICA_READ_INTERVAL_MS > deadline) throw new Error(`$ ${command}\n   expected ${expectation.what}; ${problem}`);
      await new Promise((resolve) => setTimeout(resolve, REPLICA_READ_INTERVAL_MS));
    }
  }
}
