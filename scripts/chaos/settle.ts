// The end of a run: heal everything, start whatever is down, prove the cluster takes writes again,
// wait (to a deadline) until it has converged — one primary every node agrees on, its mirror
// synchronized, every copy at the primary's LSN, digests equal (GET /cluster/verify) — then read the
// final state from the final primary and every rollback file the nodes wrote.

import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Convergence, CopyVerdict, FinalItem, RolledBackEntry } from './checker.ts';
import type { ChaosCluster } from './cluster.ts';
import { KEY_PREFIX } from './history.ts';
import { type Http, sleep } from './http.ts';
import type { WitnessView } from './observer.ts';
import type { Workload } from './workload.ts';

export const settleLimits = {
  pollMs: 250,
  requestTimeoutMs: 2000,
  healAttemptsMax: 10,
  probeWritesMax: 200,
  verifyAttemptsMax: 10,
  finalPageKeys: 1000,
  // Keys read from the final primary at most (pages of finalPageKeys).
  finalKeysMax: 5_000_000,
} as const;

export interface SettleContext {
  cluster: ChaosCluster;
  http: Http;
  workload: Workload;
  freshView: () => Promise<WitnessView | null>;
  say: (text: string) => void;
}

export interface Settled {
  convergence: Convergence;
  final: Map<string, FinalItem> | null;
  probeOk: boolean;
}

export async function settle(ctx: SettleContext, deadline: number): Promise<Settled> {
  const startedAt = Date.now();
  await heal(ctx, deadline);
  const probeOk = await probe(ctx, deadline);
  ctx.say(probeOk ? 'the cluster takes writes again (an ack=sync write was acknowledged)' : 'no ack=sync write was acknowledged after healing');
  const seen = await waitConverged(ctx, deadline);
  const copies = seen.converged ? await verify(ctx, deadline) : [];
  const convergence: Convergence = { ...seen, copies, waitedMs: Date.now() - startedAt };
  const primary = seen.primary ?? (await ctx.freshView())?.primaryId ?? null;
  const final = primary ? await readFinal(ctx, primary) : null;
  return { convergence, final, probeOk };
}

async function control(ctx: SettleContext, method: 'GET' | 'DELETE', route: string) {
  return ctx.http.tryCall(method, `${ctx.cluster.controlUrl}${route}`, undefined, settleLimits.requestTimeoutMs);
}

async function heal(ctx: SettleContext, deadline: number): Promise<void> {
  for (let attempt = 1; attempt <= settleLimits.healAttemptsMax && Date.now() < deadline; attempt++) {
    const answer = await control(ctx, 'DELETE', '/faults');
    if (answer?.status === 200) break;
    await sleep(settleLimits.pollMs);
  }
  try {
    const started = await ctx.cluster.ensureAllRunning();
    if (started.length > 0) ctx.say(`started again for the end of the run: ${started.join(', ')}`);
  } catch (error) {
    ctx.say(`could not start every process: ${(error as Error).message}`);
  }
}

// One ack=sync write acknowledged: the cluster is available again. Each attempt is in the history.
async function probe(ctx: SettleContext, deadline: number): Promise<boolean> {
  for (let seq = 0; seq < settleLimits.probeWritesMax && Date.now() < deadline; seq++) {
    const view = await ctx.freshView();
    const node = view?.primaryId ?? ctx.cluster.nodeIds()[0] ?? 'primary';
    const op = await ctx.workload.probeWrite(seq, node);
    if (op.result === 'ok') return true;
    await sleep(settleLimits.pollMs);
  }
  return false;
}

type Seen = Omit<Convergence, 'copies' | 'waitedMs'>;

async function waitConverged(ctx: SettleContext, deadline: number): Promise<Seen> {
  let last: Seen = { converged: false, detail: 'not looked yet', primary: null, epoch: null, mirror: null, lsn: null };
  while (Date.now() < deadline) {
    last = await lookOnce(ctx);
    if (last.converged) return last;
    await sleep(settleLimits.pollMs);
  }
  return last;
}

// One look at the witness and every node: converged, or the first reason it is not.
async function lookOnce(ctx: SettleContext): Promise<Seen> {
  const view = await ctx.freshView();
  const base = { converged: false, primary: view?.primaryId ?? null, epoch: view?.epoch ?? null, mirror: view?.mirrorId ?? null, lsn: null };
  if (!view?.primaryId) return { ...base, detail: 'the witness names no primary' };
  if (!view.mirrorId) return { ...base, detail: `the mirror slot of ${view.primaryId} is empty` };
  const statuses = new Map<string, any>();
  for (const id of ctx.cluster.nodeIds()) {
    const answer = await ctx.http.tryCall('GET', `${ctx.cluster.url(id)}/status`, undefined, settleLimits.requestTimeoutMs);
    if (answer?.status !== 200) return { ...base, detail: `${id} does not answer GET /status` };
    statuses.set(id, answer.body);
  }
  const p = statuses.get(view.primaryId);
  const lsn = typeof p?.lsn === 'number' ? p.lsn : null;
  const seen = { ...base, lsn };
  if (p?.role !== 'primary' || p.epoch !== view.epoch) return { ...seen, detail: `${view.primaryId} is ${p?.role} at epoch ${p?.epoch}, the witness says primary at ${view.epoch}` };
  if (p.mirror?.id !== view.mirrorId || p.mirror?.state !== 'synchronized') return { ...seen, detail: `the primary's mirror is ${p.mirror?.id ?? 'none'} ${p.mirror?.state ?? ''}, not ${view.mirrorId} synchronized` };
  for (const [id, s] of statuses) {
    if (id === view.primaryId) continue;
    const role = id === view.mirrorId ? 'mirror' : 'replica';
    if (s.role !== role || s.epoch !== view.epoch || s.primary !== view.primaryId) return { ...seen, detail: `${id} is ${s.role} of ${s.primary} at epoch ${s.epoch}, expected ${role} of ${view.primaryId} at ${view.epoch}` };
    if (s.lsn !== lsn || s.appliedLsn !== p.appliedLsn) return { ...seen, detail: `${id} is at LSN ${s.lsn} (applied ${s.appliedLsn}), the primary at ${lsn} (applied ${p.appliedLsn})` };
    if (role === 'replica' && s.connected !== true) return { ...seen, detail: `${id} is not connected to the primary` };
  }
  return { ...seen, converged: true, detail: 'converged' };
}

// GET /cluster/verify: every copy's digest at a common LSN against the primary's.
async function verify(ctx: SettleContext, deadline: number): Promise<CopyVerdict[]> {
  let copies: CopyVerdict[] = [];
  for (let attempt = 1; attempt <= settleLimits.verifyAttemptsMax && Date.now() < deadline; attempt++) {
    const answer = await control(ctx, 'GET', '/cluster/verify');
    if (answer?.status === 200 && typeof answer.body?.copies === 'object') {
      copies = Object.entries(answer.body.copies as Record<string, any>).map(([id, c]) => ({
        id, role: String(c.role), match: c.match === true, appliedLsn: typeof c.appliedLsn === 'number' ? c.appliedLsn : null,
        ...(c.match === true ? {} : { reason: c.reason ?? `digest ${c.digest} vs the primary's ${c.primaryDigest} at LSN ${answer.body.lsn}` }),
      }));
      for (const id of (answer.body.unreachable as string[] | undefined) ?? []) copies.push({ id, role: 'unknown', match: false, appliedLsn: null, reason: 'unreachable' });
      if (copies.every((c) => c.match)) return copies;
    }
    await sleep(settleLimits.pollMs);
  }
  return copies.length > 0 ? copies : [{ id: 'verify', role: 'control', match: false, appliedLsn: null, reason: 'GET /cluster/verify gave no answer' }];
}

// Every `w/` key on the final primary, page by page.
async function readFinal(ctx: SettleContext, primary: string): Promise<Map<string, FinalItem> | null> {
  const items = new Map<string, FinalItem>();
  let after = '';
  while (items.size < settleLimits.finalKeysMax) {
    const url = `${ctx.cluster.url(primary)}/kv?prefix=${encodeURIComponent(KEY_PREFIX)}&limit=${settleLimits.finalPageKeys}${after ? `&after=${encodeURIComponent(after)}` : ''}`;
    const answer = await ctx.http.tryCall('GET', url, undefined, 30_000);
    if (answer?.status !== 200 || !Array.isArray(answer.body?.items)) {
      ctx.say(`could not read the final state from ${primary}: ${answer ? `${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}` : 'no answer'}`);
      return null;
    }
    for (const item of answer.body.items as Array<{ key: string; value: unknown; lsn: number }>) items.set(item.key, { value: item.value, lsn: item.lsn });
    if (answer.body.truncated !== true || answer.body.items.length === 0) return items;
    after = (answer.body.items[answer.body.items.length - 1] as { key: string }).key;
  }
  return items;
}

// Every entry any node rolled back into DATA_DIR/rollback/*.jsonl (the files are the whole list;
// the rollback event names at most 100 keys).
export async function readRollbackFiles(dataRoot: string, nodeIds: readonly string[]): Promise<RolledBackEntry[]> {
  const entries: RolledBackEntry[] = [];
  for (const node of nodeIds) {
    const dir = path.join(dataRoot, node, 'rollback');
    const files = await readdir(dir).catch(() => [] as string[]);
    for (const name of files.filter((f) => f.endsWith('.jsonl')).sort()) {
      const file = path.join(dir, name);
      const text = await readFile(file, 'utf8').catch(() => '');
      for (const line of text.split('\n')) {
        if (!line.trim()) continue;
        try {
          const e = JSON.parse(line) as { key?: unknown; lsn?: unknown; epoch?: unknown };
          if (typeof e.key === 'string') entries.push({ node, key: e.key, lsn: Number(e.lsn), epoch: Number(e.epoch), file });
        } catch {
          // a torn line in a rollback file: skipped, the rest still counts
        }
      }
    }
  }
  return entries;
}
