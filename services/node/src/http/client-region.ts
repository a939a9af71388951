// Simulated client distance under the WAN profile: a client names the region it stands in with
// the header `x-client-region: eu|us|ap`, and the node holds its answer back by the round trip
// between that region and the one the profile put the node in (twice the one-way latency, with
// the profile's jitter), and says so in `x-simulated-rtt-ms`. Client traffic carries no sender id,
// so no fault rule can act on it; this is how "a read from the replica in your region is faster
// than one across the ocean" becomes visible. Without an active profile nothing is added (the
// header answers 0). Peers never send the header; their traffic is the link layer's.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { errors } from '../errors.ts';
import { HEADER_NODE_ID } from '../../../../shared/protocol.ts';
import { clientRoundTripMs, isRegion, REGIONS } from '../../../../shared/wan-profile.ts';
import type { DataNode } from '../data-node.ts';

export const HEADER_CLIENT_REGION = 'x-client-region';
export const HEADER_SIMULATED_RTT = 'x-simulated-rtt-ms';

function clientRegion(request: FastifyRequest): string | undefined {
  if (request.headers[HEADER_NODE_ID] !== undefined) return undefined;
  const value = request.headers[HEADER_CLIENT_REGION];
  return typeof value === 'string' ? value : undefined;
}

export function installClientRegion(app: FastifyInstance, node: DataNode): void {
  app.addHook('onRequest', async (request) => {
    const region = clientRegion(request);
    if (region !== undefined && !isRegion(region)) {
      throw errors.badRegion(HEADER_CLIENT_REGION, region, REGIONS);
    }
  });
  app.addHook('onSend', async (request, reply, payload) => {
    const region = clientRegion(request);
    if (!isRegion(region)) return payload;
    const rttMs = clientRoundTripMs(node.link.faultRules, node.config.nodeId, region, Math.random) ?? 0;
    reply.header(HEADER_SIMULATED_RTT, rttMs.toFixed(2));
    if (rttMs > 0) await new Promise((resolve) => setTimeout(resolve, rttMs));
    return payload;
  });
}
