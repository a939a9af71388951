// Control's levers on copies: switching copy modes live on the primary, and verifying that every
// copy holds what the primary holds (digests at a common LSN; a filtered replica on its filter).

import type { FastifyInstance } from 'fastify';
import { httpErrors } from '../../../shared/http-errors.ts';
import { refuseOtherMethods } from '../../../shared/http-server.ts';
import type { ControlConfig } from './config.ts';
import { badModeError, noPrimaryError } from './errors.ts';
import { callNode as call, fetchStatuses as statuses, primaryOf, urlOf } from './node-requests.ts';

export function registerCopyRoutes(app: FastifyInstance, config: ControlConfig): void {
  app.put('/cluster/modes', async (request, reply) => {
    const body = request.body as Record<string, unknown> | null;
    const valid = config.peers.map((p) => p.id);
    if (typeof body !== 'object' || body === null || Array.isArray(body) || Object.keys(body).length === 0) {
      throw httpErrors.badBody(`send an object such as {"mirror":"sync","replica-1":"async"}; copies: ${valid.join(', ')}`);
    }
    const problems: string[] = [];
    for (const [id, mode] of Object.entries(body)) {
      if (!valid.includes(id)) problems.push(`"${id}" is not a node (valid: ${valid.join(', ')})`);
      if (mode !== 'sync' && mode !== 'async') problems.push(`mode ${JSON.stringify(mode)} for ${id} must be "sync" or "async"`);
    }
    if (problems.length > 0) throw badModeError(problems, valid);
    const primary = primaryOf(await statuses(config));
    if (!primary) throw noPrimaryError('retry when one does');
    const answer = await call(`${urlOf(config, primary.id)}/internal/modes`, config, { method: 'PUT', body });
    return reply.code(answer.status).send(answer.status === 200 ? { primary: primary.id, ...answer.body } : answer.body);
  });
  refuseOtherMethods(app, '/cluster/modes', ['PUT']);

  app.get('/cluster/verify', async () => {
    const nodes = await statuses(config);
    const primary = primaryOf(nodes);
    if (!primary) throw noPrimaryError('nothing to verify against');
    const copies = [...nodes.values()].filter((s) => s.id !== primary.id && (s.role === 'mirror' || s.role === 'replica'));
    // The common LSN: every copy has applied at least this far, and each keeps a digest history.
    const lsn = Math.min(primary.appliedLsn, ...copies.map((c) => c.appliedLsn));
    const digestOf = async (id: string, prefix: string): Promise<string | null> => {
      const answer = await call(`${urlOf(config, id)}/internal/digest?lsn=${lsn}&prefix=${encodeURIComponent(prefix)}`, config);
      return answer.status === 200 ? answer.body.digest : null;
    };
    const result: Record<string, unknown> = {};
    for (const copy of copies) {
      const filter = copy.role === 'replica' ? String(copy.filter ?? '') : '';
      const [theirs, ours] = await Promise.all([digestOf(copy.id, filter), digestOf(primary.id, filter)]);
      result[copy.id] = {
        role: copy.role,
        filter,
        appliedLsn: copy.appliedLsn,
        digest: theirs,
        primaryDigest: ours,
        match: theirs !== null && theirs === ours,
        ...(theirs === null || ours === null ? { reason: 'no digest at that LSN (the history no longer reaches back); retry' } : {}),
      };
    }
    const unreachable = config.peers.map((p) => p.id).filter((id) => !nodes.has(id));
    return {
      lsn,
      primary: { id: primary.id, epoch: primary.epoch, digest: await digestOf(primary.id, '') },
      copies: result,
      match: Object.values(result).every((c) => (c as { match: boolean }).match),
      unreachable,
    };
  });
  refuseOtherMethods(app, '/cluster/verify', ['GET']);
}
