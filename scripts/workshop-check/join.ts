// A node that joins a running cluster (replica-3): it registers with control, and the primary it
// finds there streams to it. The same check for compose and for swarm.

import { getOk, waitUntil } from './http.ts';
import type { Note } from './steps.ts';

export interface JoinCheck {
  id: string;
  controlUrl: string;
  // Base URL of each data node by id, as this host reaches it.
  urls: Record<string, string>;
  timeoutMs: number;
  requestTimeoutMs: number;
}

export async function waitJoined(check: JoinCheck, note: Note): Promise<void> {
  const { id, controlUrl, urls, requestTimeoutMs } = check;
  await waitUntil(`${id} in control's view and connected to the primary`, check.timeoutMs, async () => {
    const view = await getOk(`${controlUrl}/cluster`, requestTimeoutMs);
    if (view.nodes[id]?.role !== 'replica') throw new Error(`control's view of ${id}: ${JSON.stringify(view.nodes[id] ?? null).slice(0, 200)}`);
    const status = await getOk(`${urls[view.primary]}/status`, requestTimeoutMs);
    return (status.replicas as Array<{ id: string; connected: boolean }>).some((r) => r.id === id && r.connected);
  });
  note(`${id} registered with control and follows the primary`);
}
