// Membership, the node's side: a node that starts with CONTROL_URL set registers itself with
// control (its id, its URL as peers reach it and as clients reach it, region, role, filter), so a
// node added later (replica-3) appears in control's view, faults and levers like the others. And
// every node merges the members the witness's view carries into its own peers, so it can reach a
// node that joined after it started: the primary ships to replica-3 when it takes the mirror
// slot, replicas follow it if it becomes primary, a 307 can point at it.

import type { Logger } from 'pino';
import { request } from 'undici';
import { limits } from '../../../shared/limits.ts';
import { authHeaders } from '../../../shared/protocol.ts';
import type { NodeConfig } from './config.ts';

// This node's URLs: its PEERS / PUBLIC_PEERS entries, else its own host and port.
export function ownUrls(config: NodeConfig): { url: string; publicUrl: string } {
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = config.peers[config.nodeId] ?? `http://${host}:${config.port}`;
  return { url, publicUrl: config.publicPeers[config.nodeId] ?? url };
}

// Registers with control, retrying (bounded) while control does not answer. Never throws.
export async function registerWithControl(config: NodeConfig, logger: Logger, current: () => { role: string }): Promise<void> {
  const body = JSON.stringify({ id: config.nodeId, ...ownUrls(config), region: config.region, role: current().role, filter: config.replicaFilter });
  for (let attempt = 1; attempt <= limits.memberRegisterAttemptsMax; attempt++) {
    try {
      const response = await request(`${config.controlUrl}/internal/members`, {
        method: 'POST',
        headers: { ...authHeaders(config.clusterSecret, config.nodeId), 'content-type': 'application/json' },
        body,
        headersTimeout: limits.peerRequestTimeoutMs,
        bodyTimeout: limits.peerRequestTimeoutMs,
      });
      const answer = (await response.body.json()) as { joined?: boolean; mirrorId?: string | null; message?: string };
      if (response.statusCode !== 200) {
        logger.warn({ status: response.statusCode, message: answer.message }, 'control refused this node as a member');
        return;
      }
      logger.info({ joined: answer.joined, url: ownUrls(config).url }, 'registered with control');
      if (config.role === 'mirror' && answer.mirrorId && answer.mirrorId !== config.nodeId) {
        logger.warn(
          { mirror: answer.mirrorId },
          `started with ROLE=mirror, but ${answer.mirrorId} holds the one mirror slot: this node serves as a replica; to move the slot, POST /cluster/mirror {"node":"${config.nodeId}","replace":true} on control`,
        );
      }
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, limits.memberRegisterRetryMs));
    }
  }
  logger.warn({ attempts: limits.memberRegisterAttemptsMax }, 'control did not answer the registration; this node is known to it only if PEERS names it');
}

// Adds the members this node does not know yet to its peers (and their client URLs to its public
// peers). Entries it has — from PEERS or an earlier merge — are kept as they are. Bounded.
export function mergeMembers(config: NodeConfig, members: unknown, logger: Logger): void {
  if (typeof members !== 'object' || members === null) return;
  for (const [id, entry] of Object.entries(members as Record<string, { url?: unknown; publicUrl?: unknown }>)) {
    if (id === config.nodeId || config.peers[id] !== undefined || typeof entry?.url !== 'string') continue;
    if (Object.keys(config.peers).length >= limits.membersMax) return;
    config.peers[id] = entry.url;
    config.publicPeers[id] = typeof entry.publicUrl === 'string' ? entry.publicUrl : entry.url;
    logger.info({ member: id, url: entry.url }, `learned member ${id} at ${entry.url}`);
  }
}
