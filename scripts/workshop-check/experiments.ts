// The workshop experiments (scripts/experiments/NN-*.sh), run in order by bash exactly as a
// participant runs them, each bounded in time. An experiment exits 0 only when what it
// demonstrates happened and ends with "done: N checks passed".

import { readdirSync } from 'node:fs';
import path from 'node:path';
import { runCommand } from './command.ts';

// An experiment takes well under a minute on a healthy cluster; this bound stops a hung one.
const EXPERIMENT_TIMEOUT_MS = 240_000;
const FAILURE_OUTPUT_LINES = 80;
// 01-06, and 07-10 (issue 14): a missing script is a broken checkout, not a shorter workshop.
export const EXPERIMENTS_COUNT = 10;

export function experimentScripts(repoRoot: string): string[] {
  const dir = path.join(repoRoot, 'scripts', 'experiments');
  return readdirSync(dir).filter((name) => /^\d\d-.*\.sh$/.test(name)).sort();
}

// Runs every experiment in order with env (the cluster's URLs and NODE_CMD); throws at the first
// that fails, with the tail of its output.
export async function runExperiments(repoRoot: string, env: NodeJS.ProcessEnv, note: (line: string) => void): Promise<void> {
  const scripts = experimentScripts(repoRoot);
  if (scripts.length !== EXPERIMENTS_COUNT) throw new Error(`expected the ${EXPERIMENTS_COUNT} workshop experiments, found ${scripts.length}: ${scripts.join(', ')}`);
  for (const script of scripts) {
    const result = await runCommand('bash', [path.join(repoRoot, 'scripts', 'experiments', script)], { cwd: repoRoot, env, timeoutMs: EXPERIMENT_TIMEOUT_MS });
    const output = `${result.stdout}${result.stderr}`;
    const done = /done: (\d+) checks passed/.exec(output);
    if (result.code !== 0 || !done) {
      const tail = output.trim().split('\n').slice(-FAILURE_OUTPUT_LINES).join('\n');
      throw new Error(`${script} ${result.timedOut ? `timed out after ${result.tookMs} ms` : `exited ${result.code}`}; its output ends:\n${tail}`);
    }
    note(`${script.padEnd(22)} ${done[1]} checks passed in ${(result.tookMs / 1000).toFixed(1)} s`);
  }
}
