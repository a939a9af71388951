// Failover time: SIGKILL the primary while 8 clients write (ack=sync) and follow it, and time
// from the kill to the first write acknowledged at a newer epoch, i.e. by the new primary (SPEC
// §6.2: the mirror takes over after FAILOVER_TIMEOUT_MS of silence, with the witness's consent).
// After each kill the killed node is started again (it rejoins as the mirror) and the next kill
// waits for the new primary to report its mirror synchronized, since only a synchronized mirror
// may be promoted. Runs last: without automatic failover it leaves the cluster without a primary.

import { setTimeout as sleep } from 'node:timers/promises';
import type { ChildMessage } from '../load/protocol.ts';
import { startLoad } from '../load/run.ts';
import { pollUntil } from '../http.ts';
import { currentPrimary, waitSteady } from '../readiness.ts';
import type { FailoverData, FailoverKill } from '../results.ts';
import { percentile, round, wallMs } from '../stats.ts';
import { NotAvailable, type SectionContext, VALUE_BYTES } from './context.ts';

const CLIENTS = 8;
// How long a writer waits after a failed write: the failover figure's resolution (see load/follow.ts).
const RETRY_DELAY_MS = 10;
const FAILOVER_DETECT_TIMEOUT_MS = 15_000;
const REJOIN_TIMEOUT_MS = 60_000;
const FIRST_WRITE_TIMEOUT_MS = 10_000;
const FAILOVER_TIMEOUT_MS_DEFAULT = 1500;

type EpochMessage = Extract<ChildMessage, { type: 'epoch' }>;

// The nodes' FAILOVER_TIMEOUT_MS: they get the bench's environment, so the same variable.
export function failoverTimeoutMs(): number {
  const value = Number(process.env.FAILOVER_TIMEOUT_MS ?? FAILOVER_TIMEOUT_MS_DEFAULT);
  return Number.isFinite(value) && value > 0 ? value : FAILOVER_TIMEOUT_MS_DEFAULT;
}

export async function runFailover(ctx: SectionContext): Promise<FailoverData> {
  const { cluster, profile, progress } = ctx;
  const urlToId = new Map(cluster.dataNodeIds().map((id) => [new URL(cluster.url(id)).origin, id]));
  const epochs: EpochMessage[] = [];
  const load = startLoad(
    { kind: 'follow', urls: cluster.dataNodeIds().map((id) => cluster.url(id)), clients: CLIENTS, ack: 'sync', keyPrefix: 'fo/', keySpace: 20, valueBytes: VALUE_BYTES, retryDelayMs: RETRY_DELAY_MS },
    (message) => {
      if (message.type === 'epoch') epochs.push(message);
    },
  );
  const kills: FailoverKill[] = [];
  const notes: string[] = [];
  let writerErrors: Record<string, number> = {};
  try {
    if (!(await waitForEpoch(epochs, 0, FIRST_WRITE_TIMEOUT_MS))) throw new Error(`the writers got no write acknowledged within ${FIRST_WRITE_TIMEOUT_MS} ms`);
    for (let round_ = 1; round_ <= profile.failoverKills; round_++) {
      const primary = await currentPrimary(cluster);
      if (!primary) throw new Error('no node says it is primary');
      await waitSteady(cluster, primary.id, cluster.replicaIds().length);
      const killedAt = wallMs();
      await cluster.kill(primary.id);
      const next = await waitForEpoch(epochs, primary.epoch, FAILOVER_DETECT_TIMEOUT_MS);
      if (!next) {
        const seen = await describeCluster(ctx);
        progress.warn(`kill ${round_}: no write acknowledged at a newer epoch within ${FAILOVER_DETECT_TIMEOUT_MS / 1000} s; the cluster now: ${seen}`);
        if (round_ === 1) throw new NotAvailable('no automatic failover');
        notes.push(`kill ${round_} (${primary.id} at epoch ${primary.epoch}): no write acknowledged at a newer epoch within ${FAILOVER_DETECT_TIMEOUT_MS / 1000} s; stopped there. Nodes then: ${seen}`);
        break;
      }
      const newPrimary = urlToId.get(next.url) ?? next.url;
      const failoverMs = round(next.atMs - killedAt, 1);
      progress.say(`kill ${round_}: ${primary.id} SIGKILLed at epoch ${primary.epoch}; ${newPrimary} acknowledged a write at epoch ${next.epoch} after ${failoverMs} ms`);
      const restartedAt = performance.now();
      await cluster.start(primary.id);
      const rejoined = await pollUntil(async () => {
        const status = await cluster.status(newPrimary);
        return status.role === 'primary' && status.mirror?.id === primary.id && status.mirror?.state === 'synchronized' ? true : null;
      }, REJOIN_TIMEOUT_MS, 50);
      const rejoinMs = rejoined ? round(performance.now() - restartedAt, 0) : null;
      kills.push({ killed: primary.id, newPrimary, epochBefore: primary.epoch, epochAfter: next.epoch, failoverMs, rejoinMs });
      if (!rejoined) {
        notes.push(`kill ${round_}: ${primary.id} did not become ${newPrimary}'s synchronized mirror within ${REJOIN_TIMEOUT_MS / 1000} s; stopped there`);
        break;
      }
      progress.say(`          ${primary.id} restarted and synchronized as mirror after ${rejoinMs} ms`);
    }
  } finally {
    load.stop();
    const ended = await Promise.race([load.result.catch(() => null), sleep(5000).then(() => null)]);
    load.kill();
    if (ended?.kind === 'follow') writerErrors = ended.errors;
  }
  const sorted = kills.map((k) => k.failoverMs).sort((a, b) => a - b);
  return { failoverTimeoutMs: failoverTimeoutMs(), kills, p50Ms: percentile(sorted, 50), maxMs: sorted.at(-1) ?? Number.NaN, writerErrors, notes };
}

// One line per data node: its role, epoch and what it says of its mirror; or that it is down.
async function describeCluster(ctx: SectionContext): Promise<string> {
  const parts = await Promise.all(
    ctx.cluster.dataNodeIds().map(async (id) => {
      if (!ctx.cluster.processes.isRunning(id)) return `${id} down`;
      try {
        const s = await ctx.cluster.status(id);
        return `${id} ${s.role}@${s.epoch}${s.mirror ? ` (mirror ${s.mirror.id} ${s.mirror.state})` : ''}`;
      } catch (error) {
        return `${id} not answering (${(error as Error).message})`;
      }
    }),
  );
  return parts.join('; ');
}

// Resolves with the first reported epoch above `epochAbove` (null at the deadline).
async function waitForEpoch(epochs: readonly EpochMessage[], epochAbove: number, timeoutMs: number): Promise<EpochMessage | null> {
  return pollUntil(async () => epochs.find((m) => m.epoch > epochAbove) ?? null, timeoutMs, 5);
}
