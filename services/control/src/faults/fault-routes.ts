// The fault API of SPEC §5: rules (latency, loss, partition) on the links between the processes,
// and two levers on a node's process (pause, crash). A rule change answers once every reachable
// node holds the new table (`appliedOn`); the others (`pending`) get it when they answer again.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { refuseOtherMethods } from '../../../../shared/http-server.ts';
import type { FaultRule } from '../../../../shared/fault-rules.ts';
import { limits } from '../../../../shared/limits.ts';
import { type Link, PeerRequestError } from '../../../../shared/link.ts';
import { controlPlaneHeaders } from '../../../../shared/protocol.ts';
import { CONTROL_ID } from '../../../../shared/topology.ts';
import type { ControlConfig } from '../config.ts';
import { badFaultError, badPauseError, faultNotFoundError, nodeUnreachableError, tooManyFaultsError, unknownNodeError } from '../errors.ts';
import { PARTITION_MODES, type Parsed, parseLatency, parseLoss, parsePartition, parsePause, type RuleDraft } from './fault-requests.ts';
import type { FaultSync } from './fault-sync.ts';
import type { FaultTable } from './fault-table.ts';
import type { PauseBook } from './pause-book.ts';
import { parseProfile, profileValid } from './fault-profile.ts';
import { profileRules } from '../../../../shared/wan-profile.ts';

export interface FaultRoutesContext {
  config: ControlConfig;
  table: FaultTable;
  sync: FaultSync;
  link: Link;
  // Pauses sent, so a reset knows whom to wait for.
  pauses: PauseBook;
  // The region each node's last status reported (for the WAN profile's defaults).
  regions: () => Record<string, unknown>;
  emit: (type: string, fields: Record<string, unknown>) => void;
}

// The names a rule may use: every data node, and control itself (the witness's link).
export function faultNames(config: ControlConfig): string[] {
  return [...config.peers.map((p) => p.id), CONTROL_ID];
}

export function registerFaultRoutes(app: FastifyInstance, ctx: FaultRoutesContext): void {
  // Names are read per request: a node that registers later is a valid name from then on.
  const validOf = (names: string[]) => ({ names, modes: PARTITION_MODES, msMax: limits.latencyMsMax, rate: { min: 0, max: 1 } });

  const create = (parse: (body: unknown, names: readonly string[]) => Parsed<RuleDraft>) => async (request: FastifyRequest, reply: FastifyReply) => {
    const names = faultNames(ctx.config);
    const valid = validOf(names);
    const parsed = parse(request.body, names);
    if (!parsed.ok) throw badFaultError(parsed.problems, valid);
    if (ctx.table.full) throw tooManyFaultsError(limits.faultRulesMax);
    const rule = await ctx.table.add(parsed.value);
    const delivery = await ctx.sync.pushAll();
    ctx.emit('fault-added', { fault: rule, ...delivery });
    reply.code(201);
    return { ...rule, ...delivery };
  };
  app.post('/faults/latency', create(parseLatency));
  app.post('/faults/loss', create(parseLoss));
  app.post('/faults/partition', create(parsePartition));
  for (const kind of ['latency', 'loss', 'partition']) refuseOtherMethods(app, `/faults/${kind}`, ['POST']);

  app.get('/faults', async () => ({ faults: ctx.table.list(), count: ctx.table.list().length, hash: ctx.table.hash, profile: ctx.table.profile() }));
  app.delete('/faults', async () => {
    const removed = await ctx.table.clear();
    const delivery = await ctx.sync.pushAll();
    ctx.emit('faults-cleared', { faults: removed, ...delivery });
    return { removed, ...delivery };
  });
  refuseOtherMethods(app, '/faults', ['GET', 'DELETE']);

  app.delete('/faults/:id', async (request) => {
    const { id } = request.params as { id: string };
    const removed = await ctx.table.remove(id);
    if (!removed) throw faultNotFoundError(id, ctx.table.list().map((r: FaultRule) => r.id));
    const delivery = await ctx.sync.pushAll();
    ctx.emit('fault-removed', { fault: removed, ...delivery });
    return { removed, ...delivery };
  });
  refuseOtherMethods(app, '/faults/:id', ['DELETE']);

  registerProfileRoute(app, ctx);
  registerNodeLevers(app, ctx);
}

// POST /faults/profile: the WAN profile's rules in place of the previous profile's.
function registerProfileRoute(app: FastifyInstance, ctx: FaultRoutesContext): void {
  app.post('/faults/profile', async (request, reply) => {
    const snapshot = ctx.regions();
    const parsed = parseProfile(request.body, ctx.config.peers.map((p) => ({ id: p.id, region: snapshot[p.id] })));
    if (!parsed.ok) throw badFaultError(parsed.problems, profileValid);
    const drafts = profileRules(parsed.value.name, parsed.value.regions);
    if (!ctx.table.fitsProfile(drafts.length)) throw tooManyFaultsError(limits.faultRulesMax);
    const { removed, added } = await ctx.table.replaceProfile(drafts);
    const delivery = await ctx.sync.pushAll();
    const { name, regions, sources } = parsed.value;
    ctx.emit('fault-profile', { profile: name, regions, added, removed, ...delivery });
    reply.code(201);
    return { profile: name, regions, sources, faults: added, replaced: removed.map((r) => r.id), ...delivery };
  });
  refuseOtherMethods(app, '/faults/profile', ['POST']);
}

// POST /nodes/:id/pause {"ms"} and POST /nodes/:id/crash: forwarded to the node's internal levers.
function registerNodeLevers(app: FastifyInstance, ctx: FaultRoutesContext): void {
  const peerOf = (id: string) => {
    const peer = ctx.config.peers.find((p) => p.id === id);
    if (!peer) throw unknownNodeError(id, ctx.config.peers.map((p) => p.id));
    return peer;
  };
  const forward = async (id: string, lever: 'pause' | 'crash', body: unknown) => {
    const peer = peerOf(id);
    try {
      const response = await ctx.link.request(id, `${peer.url}/internal/${lever}`, {
        method: 'POST',
        headers: { ...controlPlaneHeaders(ctx.config.clusterSecret, CONTROL_ID), 'content-type': 'application/json' },
        body: JSON.stringify(body),
        timeoutMs: limits.peerRequestTimeoutMs,
        controlPlane: true,
      });
      return { statusCode: response.statusCode, body: JSON.parse(response.body.toString('utf8')) as Record<string, unknown> };
    } catch (error) {
      throw nodeUnreachableError(id, error instanceof PeerRequestError ? error.message : String(error));
    }
  };

  app.post('/nodes/:id/pause', async (request, reply) => {
    const { id } = request.params as { id: string };
    peerOf(id);
    const parsed = parsePause(request.body);
    if (!parsed.ok) throw badPauseError(parsed.problems, limits.pauseMsMax);
    const answer = await forward(id, 'pause', { ms: parsed.value });
    if (answer.statusCode === 200) {
      ctx.pauses.record(id, parsed.value);
      ctx.emit('node-paused', { nodeId: id, ms: parsed.value });
    }
    return reply.code(answer.statusCode).send(answer.body);
  });
  refuseOtherMethods(app, '/nodes/:id/pause', ['POST']);

  app.post('/nodes/:id/crash', async (request, reply) => {
    const { id } = request.params as { id: string };
    const answer = await forward(id, 'crash', {});
    if (answer.statusCode === 200) ctx.emit('node-crashed', { nodeId: id });
    return reply.code(answer.statusCode).send(answer.body);
  });
  refuseOtherMethods(app, '/nodes/:id/crash', ['POST']);
}
