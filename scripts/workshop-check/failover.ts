// Kill of the primary under ack=sync writes (SPEC §6.1-2), the way the platform kills it (`docker
// compose kill`, `docker kill` of a swarm task): a client writes with ack=sync to the primary; after
// some acknowledged writes the primary is killed; the client keeps writing, following 307s and
// falling back to the mirror when the old primary refuses connections, until the new primary
// acknowledges at a higher epoch. The check is that this first write comes within
// FAILOVER_TIMEOUT_MS + 1 s of the kill, and that every acknowledged write reads back from the
// new primary (zero loss).

import { call, getOk, waitUntil, type Answer } from './http.ts';

// Acknowledged writes before the kill: the mirror is carrying real traffic when the primary dies.
const WRITES_BEFORE_KILL = 30;
// Acknowledged writes on the new primary before the client stops.
const WRITES_AFTER_FAILOVER = 20;
// A failover later than FAILOVER_TIMEOUT_MS + this is a failure (the bound).
export const FAILOVER_MARGIN_MS = 1_000;
// One write's bound: a dead primary behind a published port may hang rather than refuse.
const WRITE_TIMEOUT_MS = 1_000;
// After a refused write, the client waits this long before the next try: no hot loop.
const RETRY_PAUSE_MS = 20;
// The whole client's bound, and its count bound.
const CLIENT_DEADLINE_MS = 30_000;
const WRITES_MAX = 5_000;
const STATUS_TIMEOUT_MS = 2_000;
const READY_TIMEOUT_MS = 30_000;
const CONTROL_VIEW_TIMEOUT_MS = 5_000;

export interface FailoverPlan {
  // Base URL of each data node by id, as a client on this host reaches it.
  urls: Record<string, string>;
  failoverTimeoutMs: number;
  // Kills the node and returns when it died, in ms since the epoch (the engine's record of the
  // container's end, not when the command returned).
  kill: (id: string) => Promise<number>;
  keyPrefix: string;
}

export interface FailoverOutcome {
  oldPrimary: string;
  newPrimary: string;
  oldEpoch: number;
  newEpoch: number;
  // From the kill to the first write acknowledged at the new epoch.
  failoverMs: number;
  acknowledged: number;
  refused: number;
}

interface Acked {
  key: string;
  n: number;
  epoch: number;
}

// Waits until the current primary has a synchronized sync mirror that the witness agrees on:
// the precondition of an automatic failover. Returns [primary, mirror, epoch].
async function readyForFailover(controlUrl: string, urls: Record<string, string>): Promise<[string, string, number]> {
  return waitUntil('a primary with a synchronized mirror the witness agrees on', READY_TIMEOUT_MS, async () => {
    const view = await getOk(`${controlUrl}/cluster`, STATUS_TIMEOUT_MS);
    const primary = view.primary as string;
    const status = await getOk(`${urls[primary]}/status`, STATUS_TIMEOUT_MS);
    if (status.mirror?.state !== 'synchronized' || status.mirror.mode !== 'sync') return null;
    const witness = await getOk(`${controlUrl}/witness`, STATUS_TIMEOUT_MS);
    if (witness.primaryId !== primary || witness.mirrorId !== status.mirror.id || witness.mirrorSynchronized !== true) return null;
    return [primary, status.mirror.id as string, status.epoch as number] as [string, string, number];
  });
}

export async function killPrimaryUnderWrites(controlUrl: string, plan: FailoverPlan, note: (line: string) => void): Promise<FailoverOutcome> {
  const [oldPrimary, mirror, oldEpoch] = await readyForFailover(controlUrl, plan.urls);
  note(`primary ${oldPrimary} at epoch ${oldEpoch}, mirror ${mirror} synchronized; the witness agrees`);
  const acked: Acked[] = [];
  let refused = 0;
  let target = plan.urls[oldPrimary] as string;
  let killedAtMs = 0;
  let killing: Promise<void> | null = null;
  let failedOverAtMs = 0;
  let newEpoch = oldEpoch;
  let afterFailover = 0;
  const deadline = Date.now() + CLIENT_DEADLINE_MS;
  for (let n = 1; n <= WRITES_MAX && Date.now() < deadline && afterFailover < WRITES_AFTER_FAILOVER; n++) {
    const key = `${plan.keyPrefix}/${n}`;
    const answer: Answer = await call('PUT', `${target}/kv/${key}?ack=sync`, { n }, WRITE_TIMEOUT_MS).catch((err: Error) => ({ status: 0, headers: {}, body: err.message }));
    if (answer.status === 200) {
      acked.push({ key, n, epoch: answer.body.epoch });
      if (answer.body.epoch > oldEpoch) {
        if (failedOverAtMs === 0) [failedOverAtMs, newEpoch] = [Date.now(), answer.body.epoch];
        afterFailover += 1;
      }
      if (acked.length === WRITES_BEFORE_KILL && killing === null) {
        // The client goes on writing while the kill runs, as the workshop's client does.
        killing = plan.kill(oldPrimary).then((at) => void (killedAtMs = at));
      }
      continue;
    }
    refused += 1;
    const location = answer.headers.location;
    // A 307 names the primary; a refused or hung connection sends the client to the mirror, which
    // either redirects it back (not promoted yet) or, once promoted, acknowledges.
    target = answer.status === 307 && typeof location === 'string' ? new URL(location).origin : (plan.urls[mirror] as string);
    await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
  }
  await killing;
  if (killing === null) throw new Error(`the client got only ${acked.length} of ${WRITES_BEFORE_KILL} acknowledged writes before the kill`);
  if (failedOverAtMs === 0) throw new Error(`no write was acknowledged at an epoch above ${oldEpoch} within ${CLIENT_DEADLINE_MS} ms (${refused} refused)`);
  const failoverMs = failedOverAtMs - killedAtMs;
  const boundMs = plan.failoverTimeoutMs + FAILOVER_MARGIN_MS;
  note(`killed ${oldPrimary}; first write acknowledged at epoch ${newEpoch} ${failoverMs} ms after the kill (bound: FAILOVER_TIMEOUT_MS ${plan.failoverTimeoutMs} + ${FAILOVER_MARGIN_MS} ms); ${refused} writes refused meanwhile`);
  if (failoverMs > boundMs) throw new Error(`the failover took ${failoverMs} ms, more than ${boundMs} ms`);
  // Control's view follows the nodes' heartbeats: it names the new primary a moment later.
  await waitUntil(`control to name ${mirror} as the primary`, CONTROL_VIEW_TIMEOUT_MS, async () => {
    const view = await getOk(`${controlUrl}/cluster`, STATUS_TIMEOUT_MS);
    if (view.primary !== mirror) throw new Error(`control names ${view.primary} as primary`);
    return true;
  });
  await checkNoLoss(plan.urls[mirror] as string, acked);
  note(`zero loss: all ${acked.length} acknowledged writes read back from ${mirror}, the primary at epoch ${newEpoch}`);
  return { oldPrimary, newPrimary: mirror, oldEpoch, newEpoch, failoverMs, acknowledged: acked.length, refused };
}

async function checkNoLoss(primaryUrl: string, acked: readonly Acked[]): Promise<void> {
  const missing: string[] = [];
  for (const write of acked) {
    const answer = await call('GET', `${primaryUrl}/kv/${write.key}`, undefined, STATUS_TIMEOUT_MS);
    if (answer.status !== 200 || answer.body.value?.n !== write.n) missing.push(`${write.key} (HTTP ${answer.status})`);
  }
  if (missing.length > 0) throw new Error(`${missing.length} acknowledged writes are not on the new primary: ${missing.slice(0, 10).join(', ')}`);
}
