// Catch-up of a replica that was away (it first receives 1,000 entries, so it holds something):
//   partial resync: stop replica-1, write N entries (N distinct keys, ack=local, 64 clients),
//     start it; it resumes from its LSN out of the primary's backlog (Redis PSYNC). Entries/s.
//   full resync: stop it again, wipe its data directory, start it; it gets a snapshot of every
//     key, then entries. Seconds for the whole state.
// Timed from the replica's first GET /status answer (it is listening; its role, and so the
// stream, starts right after) to its applied LSN reaching the primary's; polled every 10 ms, so
// the error is about 10 ms plus one status round trip on either end.

import { rm } from 'node:fs/promises';
import type { BenchCluster } from '../cluster.ts';
import { pollUntil } from '../http.ts';
import { runLoadOf } from '../load/run.ts';
import { waitApplied, waitSteady } from '../readiness.ts';
import type { CatchUpData, CatchUpRun } from '../results.ts';
import { round } from '../stats.ts';
import { type SectionContext, VALUE_BYTES } from './context.ts';

const COPY = 'replica-1';
const POLL_MS = 10;
const CATCH_UP_TIMEOUT_MS = 180_000;
const FILL_CAP_MS = 600_000;
const PREFILL_ENTRIES = 1000;

export async function runCatchUp(ctx: SectionContext): Promise<CatchUpData> {
  const { cluster, profile, progress } = ctx;
  // A copy that holds nothing gets a snapshot even when the backlog reaches back (SPEC §4), so the
  // copy must hold something before it goes away for the first run to be a partial resync.
  await fill(ctx, PREFILL_ENTRIES, 'cu-pre/');
  await waitSteady(cluster, 'primary', cluster.replicaIds().length);
  await waitApplied(cluster, COPY, (await cluster.status('primary')).appliedLsn);
  await cluster.stop(COPY);
  progress.say(`${COPY} stopped; writing ${profile.catchUpEntries} entries (ack=local, 64 clients)`);
  const written = await fill(ctx, profile.catchUpEntries, 'cu/');
  progress.say(`wrote ${written.writesOk} entries at ${Math.round(written.throughputPerS)}/s`);

  const partial = await timeCatchUp(cluster, COPY, 'entries');
  progress.say(`partial resync: ${partial.amount} entries in ${partial.seconds} s = ${partial.perS} entries/s (${partial.resync})`);
  if (partial.resync !== 'partial') ctx.note(`catch-up: the primary logged a ${partial.resync} resync where a partial one was expected`);

  await cluster.stop(COPY);
  await rm(cluster.dataDir(COPY), { recursive: true, force: true });
  const full = await timeCatchUp(cluster, COPY, 'keys');
  progress.say(`full resync: ${full.amount} keys in ${full.seconds} s = ${full.perS} keys/s (${full.resync})`);
  if (full.resync !== 'full') ctx.note(`catch-up: the primary logged a ${full.resync} resync where a full one was expected`);
  await waitSteady(cluster, 'primary', cluster.replicaIds().length);
  return { copy: COPY, partial, full };
}

// Writes `count` entries under distinct keys, ack=local, 64 clients.
async function fill(ctx: SectionContext, count: number, keyPrefix: string) {
  const result = await runLoadOf({
    kind: 'closed',
    baseUrl: ctx.cluster.url('primary'),
    ack: 'local',
    clients: 64,
    warmupMs: 0,
    durationMs: FILL_CAP_MS,
    writesMax: count,
    keyPrefix,
    keySpace: count,
    valueBytes: VALUE_BYTES,
  });
  if (result.writesOk < count) ctx.note(`catch-up fill: ${count - result.writesOk} of ${count} writes failed (${JSON.stringify(result.errors)})`);
  return result;
}

// Starts `id` and times it from its first status answer to applied LSN = the primary's.
async function timeCatchUp(cluster: BenchCluster, id: string, unit: 'entries' | 'keys'): Promise<CatchUpRun> {
  const primary = await cluster.status('primary');
  const targetLsn: number = primary.appliedLsn;
  const logLinesBefore = cluster.logs('primary').length;
  const spawnedAt = performance.now();
  await cluster.processes.start(id);
  const first = await pollUntil(async () => {
    const status = await cluster.status(id);
    return { atMs: performance.now(), appliedLsn: status.appliedLsn as number };
  }, 30_000, POLL_MS);
  if (!first) throw new Error(`${id} did not answer GET /status within 30 s of its start`);
  await waitApplied(cluster, id, targetLsn, CATCH_UP_TIMEOUT_MS);
  const doneAt = performance.now();
  const amount = unit === 'keys' ? (primary.keys as number) : targetLsn - first.appliedLsn;
  const lowerBound = first.appliedLsn >= targetLsn;
  // Already caught up at its first answer: all we know is that it took less than since its spawn.
  const seconds = lowerBound ? (doneAt - spawnedAt) / 1000 : (doneAt - first.atMs) / 1000;
  return {
    amount,
    seconds: round(seconds, 3),
    perS: round(amount / seconds, 0),
    secondsFromSpawn: round((doneAt - spawnedAt) / 1000, 3),
    resync: resyncKind(cluster.logs('primary').slice(Math.max(0, logLinesBefore - 50)), id),
    lowerBound,
  };
}

// The kind of resync the primary logged for the copy's latest connection.
function resyncKind(lines: readonly string[], id: string): string {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i] as string;
    if (!line.includes(`"replica":"${id}"`)) continue;
    const match = /"resync":"([a-z]+)"/.exec(line);
    if (match) return match[1] as string;
  }
  return 'unknown';
}
