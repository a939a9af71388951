// GET /internal/traffic?after=<seq>&limit=<n>: the peer messages this node sent lately, from its
// link's traffic log (shared/traffic-log.ts), for control to collect into the dashboard's message
// view. Like every internal route it needs the cluster secret; control asks on the control plane,
// so the collection itself is never recorded nor subject to fault rules.
//
// Answer: {records, lastSeq, bootId, skipped}: the newest `limit` records after `after`, oldest
// first; `skipped` counts those after `after` that are not in the answer (over the limit, or
// already pushed out of the ring). `bootId` changes when the process restarts: seqs start over.

import type { FastifyInstance } from 'fastify';
import { checkClusterSecret, refuseOtherMethods, sendApiError } from '../../../../shared/http-server.ts';
import { limits } from '../../../../shared/limits.ts';
import type { DataNode } from '../data-node.ts';
import { errors } from '../errors.ts';

export function registerTrafficRoutes(app: FastifyInstance, node: DataNode): void {
  app.get('/internal/traffic', async (request, reply) => {
    // The internal routes' hook checks the secret already; checked here too, so this route stays
    // closed whatever the order of registration.
    const refusal = checkClusterSecret(request, node.config.clusterSecret);
    if (refusal) return sendApiError(reply, refusal);
    const q = request.query as Record<string, string | undefined>;
    const after = integer(q.after, 0, Number.MAX_SAFE_INTEGER, 'after');
    const limit = integer(q.limit, limits.trafficFetchMax, limits.trafficFetchMax, 'limit');
    const traffic = node.link.traffic;
    const { records, skipped } = traffic.after(after, limit);
    return { id: node.config.nodeId, records, lastSeq: traffic.lastSeq, bootId: traffic.bootId, skipped };
  });
  refuseOtherMethods(app, '/internal/traffic', ['GET', 'HEAD']);
}

function integer(text: string | undefined, fallback: number, max: number, name: string): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^[0-9]{1,16}$/.test(text) || !Number.isSafeInteger(value) || value > max) throw errors.badQuery(`${name} must be an integer from 0 to ${max}`);
  return value;
}
