// Fault helpers for cluster tests: every fault goes through control's own API (and so through the
// project's link layer), never a mocked network.

import type { TestCluster } from './cluster.ts';
import { deleteJson, getJson, postJson, putJson } from './http.ts';
import { waitFor } from './wait.ts';

// Adds a rule through control; resolves once every reachable node holds it.
export async function addFault(c: TestCluster, kind: 'latency' | 'loss' | 'partition', body: Record<string, unknown>): Promise<any> {
  const response = await postJson(`${c.url('control')}/faults/${kind}`, body);
  if (response.status !== 201) throw new Error(`POST /faults/${kind} answered ${response.status}: ${JSON.stringify(response.body)}`);
  return response.body;
}

export async function healAll(c: TestCluster): Promise<void> {
  const response = await deleteJson(`${c.url('control')}/faults`);
  if (response.status !== 200) throw new Error(`DELETE /faults answered ${response.status}: ${JSON.stringify(response.body)}`);
}

export async function statusOf(c: TestCluster, id: string): Promise<any> {
  return (await getJson(`${c.url(id)}/status`, { timeoutMs: 2000 })).body;
}

// The cluster at rest: the mirror synchronized, every replica connected and caught up.
export async function settled(c: TestCluster, replicas: readonly string[] = ['replica-1', 'replica-2']): Promise<any> {
  return waitFor(async () => {
    const primary = await statusOf(c, 'primary');
    if (primary.mirror?.state !== 'synchronized') return null;
    for (const id of replicas) {
      const replica = await statusOf(c, id);
      if (!replica.connected || replica.appliedLsn < primary.appliedLsn) return null;
    }
    return primary;
  }, { what: 'the mirror synchronized and the replicas caught up', timeoutMs: 30_000, intervalMs: 100 });
}

// Milliseconds one write takes, seen by the client.
export async function timedPut(c: TestCluster, key: string, ack = 'sync'): Promise<{ ms: number; body: any; status: number }> {
  const started = performance.now();
  const response = await putJson(`${c.url('primary')}/kv/${key}?ack=${ack}`, { at: Date.now() });
  return { ms: performance.now() - started, body: response.body, status: response.status };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}
