// POST /cluster/reset (SPEC §5): back to the starting point without touching data. The work is in
// reset-run.ts; this file serializes runs (a reset asked for while one runs gets that run's
// answer: two resets moving roles at once would fight), publishes reset-started and
// reset-finished, and turns the outcome into 200 or 409 reset_incomplete.
//
// Body (optional): {"nodeCmd":"docker compose"} or {"nodeCmd":"npm run node --"}: how the todo
// list spells a start command; NODE_CMD in control's environment is the default.

import type { FastifyInstance } from 'fastify';
import { refuseOtherMethods } from '../../../../shared/http-server.ts';
import { NODE_CMDS, type NodeCmd } from '../config.ts';
import { badResetError, resetIncompleteError } from '../errors.ts';
import { type ResetContext, ResetRun } from './reset-run.ts';

export interface ResetOutcome {
  ok: boolean;
  tookMs: number;
  steps: ResetRun['steps'];
  todo: ResetRun['todo'];
  primary: string | null;
  mirror: string | null;
  epoch: number;
}

export class ClusterReset {
  private running: Promise<ResetOutcome> | null = null;

  constructor(private readonly ctx: ResetContext) {}

  run(nodeCmd: NodeCmd): Promise<ResetOutcome> {
    if (this.running) return this.running;
    this.running = this.execute(nodeCmd).finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async execute(nodeCmd: NodeCmd): Promise<ResetOutcome> {
    this.ctx.emit('reset-started', { nodeCmd });
    const run = new ResetRun(this.ctx, nodeCmd);
    try {
      await run.execute();
    } catch (error) {
      // A bug or an I/O error of control itself: reported as a todo, never a hung request.
      this.ctx.logger.error({ err: error }, 'reset failed');
      run.todo.push({ what: `the reset stopped on an error: ${(error as Error).message}`, command: 'npm run reset' });
    }
    const { primaryId, mirrorId, epoch } = this.ctx.witness.record;
    const outcome: ResetOutcome = { ok: run.todo.length === 0, tookMs: run.tookMs, steps: run.steps, todo: run.todo, primary: primaryId, mirror: mirrorId, epoch };
    this.ctx.emit('reset-finished', { ok: outcome.ok, tookMs: outcome.tookMs, steps: outcome.steps.map((s) => s.step), todo: outcome.todo });
    return outcome;
  }
}

function parseResetBody(body: unknown, fallback: NodeCmd): NodeCmd {
  // No body at all (curl -X POST): the defaults. Anything sent must be the object below.
  if (body === undefined) return fallback;
  const valid = { nodeCmd: NODE_CMDS };
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badResetError(['send no body, or {"nodeCmd": ...}'], valid);
  const problems: string[] = [];
  const record = body as Record<string, unknown>;
  for (const key of Object.keys(record)) if (key !== 'nodeCmd') problems.push(`unknown field "${key}" (fields: nodeCmd)`);
  const nodeCmd = record.nodeCmd ?? fallback;
  if (!(NODE_CMDS as readonly unknown[]).includes(nodeCmd)) problems.push(`nodeCmd ${JSON.stringify(nodeCmd)} must be one of ${NODE_CMDS.map((c) => JSON.stringify(c)).join(', ')}`);
  if (problems.length > 0) throw badResetError(problems, valid);
  return nodeCmd as NodeCmd;
}

export function registerResetRoutes(app: FastifyInstance, reset: ClusterReset, defaultNodeCmd: NodeCmd): void {
  app.post('/cluster/reset', async (request) => {
    const nodeCmd = parseResetBody(request.body, defaultNodeCmd);
    const outcome = await reset.run(nodeCmd);
    const { ok, todo, ...rest } = outcome;
    if (!ok) throw resetIncompleteError(todo, rest);
    return { reset: 'done', ...rest };
  });
  refuseOtherMethods(app, '/cluster/reset', ['POST']);
}
