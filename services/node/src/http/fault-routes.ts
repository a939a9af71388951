// PUT /internal/faults: control delivers its whole fault rule table; the node's link applies it
// from the next message on (connections already open included). Control re-sends the table when
// the hash this node reports in GET /status differs from its own (after a restart, the node
// holds no rules). The cluster secret is checked by the internal routes' onRequest hook.

import type { FastifyInstance } from 'fastify';
import type { FaultRule } from '../../../../shared/fault-rules.ts';
import { ruleTableProblems } from '../../../../shared/fault-rules.ts';
import { bodySchema } from '../../../../shared/http-server.ts';
import { limits } from '../../../../shared/limits.ts';
import type { DataNode } from '../data-node.ts';
import { errors } from '../errors.ts';

// The envelope; each rule is checked by ruleTableProblems, the same check control's table passes.
const rulesBody = bodySchema(
  { type: 'object', additionalProperties: false, required: ['rules'], properties: { rules: { type: 'array', maxItems: limits.faultRulesMax } } },
  '{"rules":[...]} as control does',
);

export function registerFaultRoutes(app: FastifyInstance, node: DataNode): void {
  app.put('/internal/faults', rulesBody, async (request) => {
    const { rules } = request.body as { rules: unknown[] };
    const problems = ruleTableProblems(rules, limits.faultRulesMax);
    if (problems.length > 0) throw errors.badBody(`send {"rules":[...]} as control does: ${problems.join('; ')}`);
    node.link.setRules(rules as FaultRule[]);
    node.metrics.faultsActive.set(node.link.rulesTouchingSelf().length);
    return { id: node.config.nodeId, hash: node.link.faultsHash, rules: (rules as FaultRule[]).length };
  });
}
