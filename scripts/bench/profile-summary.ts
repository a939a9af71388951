// `node --import tsx scripts/bench/profile-summary.ts <file.cpuprofile> [--top N]`
// Where a profiled node spent its CPU: self time per function and per file, and inclusive time
// (the function and everything it called), as % of the time it was not idle. Enough to name the
// file and function that limit a run without opening DevTools.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from '../lib/cluster-processes.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  busyMs: number;
  idleMs: number;
  self: Array<[string, number]>;
  inclusive: Array<[string, number]>;
  byFile: Array<[string, number]>;
  // Each busy sample charged to the innermost frame of the project's own code (services/, shared/)
  // on its stack: "which of our functions caused this", syscalls and library time included.
  byProjectFrame: Array<[string, number]>;
}

const PROJECT_DIRS = ['services/', 'shared/'];

function shortUrl(url: string): string {
  const file = url.startsWith('file://') ? new URL(url).pathname : url;
  if (file.startsWith(REPO_ROOT)) return path.relative(REPO_ROOT, file);
  const modules = file.lastIndexOf('node_modules/');
  if (modules >= 0) return file.slice(modules);
  // A profile taken in another checkout of the project: cut at the project's own top folders.
  const project = /\/((?:services|shared|scripts|tests)\/.*)$/.exec(file);
  return project?.[1] ?? file;
}

function frameKey(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  return url ? `${functionName || '(anonymous)'}  ${shortUrl(url)}:${lineNumber + 1}` : functionName || '(anonymous)';
}

const IDLE = new Set(['(idle)']);

export function summarizeProfile(profile: CpuProfile): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const self = new Map<string, number>();
  const byFile = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let busyUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    if (IDLE.has(node.callFrame.functionName)) {
      idleUs += us;
      continue;
    }
    busyUs += us;
    self.set(frameKey(node), (self.get(frameKey(node)) ?? 0) + us);
    const file = node.callFrame.url ? shortUrl(node.callFrame.url) : node.callFrame.functionName;
    byFile.set(file, (byFile.get(file) ?? 0) + us);
  }
  // Inclusive: each sample counts once for every distinct function on its stack.
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  for (const [id, us] of selfUs) {
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const node = byId.get(at);
      if (!node || IDLE.has(node.callFrame.functionName) || node.callFrame.functionName === '(root)') continue;
      const key = frameKey(node);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    }
  }
  const byProjectFrame = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const leaf = byId.get(id);
    if (!leaf || IDLE.has(leaf.callFrame.functionName)) continue;
    let key = `(no project frame) ${frameKey(leaf)}`;
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const node = byId.get(at);
      if (node?.callFrame.url && PROJECT_DIRS.some((dir) => shortUrl(node.callFrame.url).startsWith(dir))) {
        key = frameKey(node);
        break;
      }
    }
    byProjectFrame.set(key, (byProjectFrame.get(key) ?? 0) + us);
  }
  const sorted = (map: Map<string, number>) => [...map].sort((a, b) => b[1] - a[1]).map(([k, us]) => [k, us / 1000] as [string, number]);
  return { busyMs: busyUs / 1000, idleMs: idleUs / 1000, self: sorted(self), inclusive: sorted(inclusive), byFile: sorted(byFile), byProjectFrame: sorted(byProjectFrame) };
}

function render(summary: ProfileSummary, top: number): string {
  const pct = (ms: number) => `${((ms / summary.busyMs) * 100).toFixed(1).padStart(5)} %`;
  const list = (title: string, rows: Array<[string, number]>) => [title, ...rows.slice(0, top).map(([k, ms]) => `  ${pct(ms)}  ${ms.toFixed(0).padStart(7)} ms  ${k}`)];
  return [
    `busy ${summary.busyMs.toFixed(0)} ms, idle ${summary.idleMs.toFixed(0)} ms (${((summary.busyMs / (summary.busyMs + summary.idleMs)) * 100).toFixed(0)} % busy); shares below are of busy time`,
    ...list('\nSELF TIME BY FUNCTION', summary.self),
    ...list('\nSELF TIME BY FILE', summary.byFile),
    ...list('\nBUSY TIME BY INNERMOST PROJECT FUNCTION ON THE STACK', summary.byProjectFrame),
    ...list('\nINCLUSIVE TIME (function and its callees)', summary.inclusive),
  ].join('\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const file = args.find((a) => !a.startsWith('--'));
  const topIndex = args.indexOf('--top');
  const top = topIndex >= 0 ? Number(args[topIndex + 1]) : 25;
  if (!file) {
    process.stderr.write('usage: node --import tsx scripts/bench/profile-summary.ts <file.cpuprofile> [--top N]\n');
    process.exit(2);
  }
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  process.stdout.write(`${render(summarizeProfile(profile), top)}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) void main();
