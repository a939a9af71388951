// Control's own requests to the data nodes for its levers (copy modes, verification, reset): a
// fresh GET /status of every node, and control-plane calls with the cluster secret. Control-plane
// traffic is never subject to fault rules, so a lever still works on a cluster full of faults.

import { request } from 'undici';
import { limits } from '../../../shared/limits.ts';
import { controlPlaneHeaders } from '../../../shared/protocol.ts';
import type { ControlConfig } from './config.ts';
import { nodeUnreachableError, unknownNodeError } from './errors.ts';

export interface NodeAnswer {
  status: number;
  // A node's JSON answer, read field by field by each lever (its shape is SPEC §3's).
  // biome-ignore lint/suspicious/noExplicitAny: JSON from a node, checked where it is read.
  body: any;
}

// One control-plane request to a node; the answer's JSON body, or null when it had none. Bounded
// by `timeoutMs`. A node that refuses, times out, resets or answers something that is not JSON
// throws 503 node_unreachable (indefinite: a request that timed out may have arrived), so a lever
// on a node that stops answering mid-request says so instead of answering 500.
export async function callNode(
  url: string,
  config: ControlConfig,
  init: { method?: 'GET' | 'PUT' | 'POST'; body?: unknown; timeoutMs?: number } = {},
): Promise<NodeAnswer> {
  const timeoutMs = init.timeoutMs ?? limits.peerRequestTimeoutMs * 3;
  try {
    const response = await request(url, {
      method: init.method ?? 'GET',
      headers: { ...controlPlaneHeaders(config.clusterSecret, config.nodeId), ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.body.text();
    return { status: response.statusCode, body: text ? JSON.parse(text) : null };
  } catch (error) {
    const peer = config.peers.find((p) => url.startsWith(p.url));
    throw nodeUnreachableError(peer?.id ?? new URL(url).host, error instanceof Error ? error.message : String(error));
  }
}

// Every reachable node's fresh status (not the cached view: levers want now). Nodes that do not
// answer within `timeoutMs` are left out; the caller reports them.
// biome-ignore lint/suspicious/noExplicitAny: a node's GET /status, read field by field by each lever.
export async function fetchStatuses(config: ControlConfig, timeoutMs = limits.peerRequestTimeoutMs * 3): Promise<Map<string, any>> {
  // biome-ignore lint/suspicious/noExplicitAny: as above.
  const found = new Map<string, any>();
  await Promise.all(
    config.peers.map(async (peer) => {
      try {
        const answer = await callNode(`${peer.url}/status`, config, { timeoutMs });
        if (answer.status === 200 && answer.body?.id === peer.id) found.set(peer.id, answer.body);
      } catch {
        // unreachable: left out, reported by the caller
      }
    }),
  );
  return found;
}

// The node that says primary with the highest epoch (an old primary may not have heard yet).
// biome-ignore lint/suspicious/noExplicitAny: statuses as fetchStatuses gives them.
export function primaryOf(nodes: Map<string, any>): any | null {
  // biome-ignore lint/suspicious/noExplicitAny: as above.
  let best: any = null;
  for (const status of nodes.values()) if (status.role === 'primary' && (!best || status.epoch > best.epoch)) best = status;
  return best;
}

export function urlOf(config: ControlConfig, id: string): string {
  const peer = config.peers.find((p) => p.id === id);
  if (!peer) throw unknownNodeError(id, config.peers.map((p) => p.id));
  return peer.url;
}
