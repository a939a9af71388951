// The dashboard's routes: GET / and its static files (services/control/public/, plain ES modules,
// no build step), and the load generator's API, which the dashboard's buttons call like any curl:
//   POST /load {"rate","ack"?,"seconds"?,"keys"?}   start (or replace) a run → the report
//   GET /load                                       the report: running, settings, counts
//   DELETE /load                                    stop → the final report
// Everything the page shows comes from GET /events, GET /events/history, GET /cluster and GET /faults.

import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { refuseOtherMethods } from '../../../../shared/http-server.ts';
import { limits } from '../../../../shared/limits.ts';
import { badLoadError } from '../errors.ts';
import { type LoadGenerator, parseLoadSettings } from './load-generator.ts';

// Beside src/, so the files ship with the service (the Dockerfile copies services/).
export const PUBLIC_DIR = fileURLToPath(new URL('../../public/', import.meta.url));

export async function registerDashboardRoutes(app: FastifyInstance, load: LoadGenerator): Promise<void> {
  // One route per file (wildcard: false): no catch-all that would answer unknown paths with files,
  // and `/` serves index.html. No long caching: a workshop reload must show the current page.
  await app.register(fastifyStatic, { root: PUBLIC_DIR, prefix: '/', wildcard: false, index: 'index.html', maxAge: 0, decorateReply: false });

  const valid = { rate: { min: 1, max: limits.loadRateMax }, ack: ['local', 'sync', 'all', '1..9'], seconds: { min: 1, max: limits.loadSecondsMax, default: limits.loadSecondsDefault }, keys: { min: 1, max: limits.loadKeysMax, default: limits.loadKeysDefault } };
  app.post('/load', async (request) => {
    const parsed = parseLoadSettings(request.body ?? {});
    if (!parsed.ok) throw badLoadError(parsed.problems, valid);
    return load.start(parsed.value);
  });
  app.get('/load', async () => load.report());
  app.delete('/load', async () => load.stop('stopped through DELETE /load'));
  refuseOtherMethods(app, '/load', ['GET', 'POST', 'DELETE']);
}
