// The JSON a run keeps: bench/results/bench-<UTC time>[-quick].json by default (gitignored), or
// the file given with --json. Holds every figure, the targets and the run's settings.

import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from '../lib/cluster-processes.ts';
import type { BenchResults } from './results.ts';
import type { TargetCheck } from './targets.ts';

export const RESULTS_DIR = path.join(REPO_ROOT, 'bench', 'results');

export function defaultResultsPath(startedAt: Date, profile: string): string {
  const stamp = startedAt.toISOString().replace(/[:]/g, '').replace(/\.\d+Z$/, 'Z');
  return path.join(RESULTS_DIR, `bench-${stamp}${profile === 'quick' ? '-quick' : ''}.json`);
}

export async function writeResults(file: string, results: BenchResults, targets: readonly TargetCheck[]): Promise<string> {
  const absolute = path.resolve(file);
  await mkdir(path.dirname(absolute), { recursive: true });
  await writeFile(absolute, `${JSON.stringify({ ...results, targets }, null, 2)}\n`);
  return absolute;
}
