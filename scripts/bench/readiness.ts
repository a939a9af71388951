// Waiting for the cluster to be in the state a measurement needs: a primary whose mirror is
// synchronized and whose replicas are connected and caught up. Each wait has a deadline and says
// what it saw last when it gives up.

import type { BenchCluster } from './cluster.ts';
import { pollUntil } from './http.ts';

const READY_TIMEOUT_MS = 30_000;

// The data node that says it is primary at the highest epoch (as control's cluster view decides),
// read straight from the nodes so it is not one poll period stale.
export async function currentPrimary(cluster: BenchCluster): Promise<{ id: string; epoch: number } | null> {
  let best: { id: string; epoch: number } | null = null;
  await Promise.all(
    cluster.dataNodeIds().map(async (id) => {
      try {
        const status = await cluster.status(id);
        if (status.role === 'primary' && (!best || status.epoch > best.epoch)) best = { id, epoch: status.epoch };
      } catch {
        // down or booting
      }
    }),
  );
  return best;
}

// Waits until the primary's mirror is synchronized and every replica it knows is connected and
// has acknowledged everything the gate released. Returns the primary's status.
export async function waitSteady(cluster: BenchCluster, primaryId: string, replicasExpected: number, timeoutMs = READY_TIMEOUT_MS): Promise<any> {
  let last: unknown = null;
  const status = await pollUntil(async () => {
    const s = await cluster.status(primaryId);
    last = { mirror: s.mirror, replicas: s.replicas, lsn: s.lsn };
    const replicas = (s.replicas ?? []) as Array<{ connected: boolean; lagEntries: number }>;
    const steady =
      s.mirror?.state === 'synchronized' &&
      replicas.filter((r) => r.connected).length >= replicasExpected &&
      replicas.every((r) => !r.connected || r.lagEntries === 0);
    return steady ? s : null;
  }, timeoutMs, 50);
  if (!status) throw new Error(`the cluster did not become steady within ${timeoutMs} ms; last seen on ${primaryId}: ${JSON.stringify(last)}`);
  return status;
}

// Waits until `id` has applied `lsn`; throws at the deadline.
export async function waitApplied(cluster: BenchCluster, id: string, lsn: number, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
  const done = await pollUntil(async () => ((await cluster.status(id)).appliedLsn >= lsn ? true : null), timeoutMs, 20);
  if (!done) throw new Error(`${id} did not apply LSN ${lsn} within ${timeoutMs} ms`);
}
