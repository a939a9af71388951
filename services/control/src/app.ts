// Builds the control service's HTTP app without listening, so tests can `inject` into it and
// main.ts alone owns the port. The cluster view's poll loop lives and dies with the app.

import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { installErrorHandling, refuseOtherMethods, serverOptions } from '../../../shared/http-server.ts';
import { limits } from '../../../shared/limits.ts';
import { ClusterView } from './cluster-view.ts';
import type { ControlConfig } from './config.ts';
import { registerCopyRoutes } from './copies.ts';

export function buildControlApp(config: ControlConfig, logger: Logger): FastifyInstance {
  // Control's request bodies are small (fault rules, modes); the shared body bound is ample.
  const app = Fastify(serverOptions(logger, limits.bodyBytesMax));
  installErrorHandling(app);

  const view = new ClusterView({
    peers: config.peers,
    pollMs: limits.statusPollMs,
    requestTimeoutMs: limits.peerRequestTimeoutMs,
    logger: logger.child({ component: 'cluster-view' }),
  });
  // Poll from the moment the app is ready, not from the first request, so /cluster is warm.
  app.addHook('onReady', async () => {
    void view.start();
  });
  app.addHook('onClose', async () => {
    await view.close();
  });

  app.get('/health', async () => ({ status: 'ok', id: config.nodeId }));
  refuseOtherMethods(app, '/health', ['GET', 'HEAD']);

  app.get('/cluster', async () => {
    // Right after boot the first round may still be running; it is bounded by the request timeout.
    await view.ready();
    return view.snapshot();
  });
  refuseOtherMethods(app, '/cluster', ['GET', 'HEAD']);
  registerCopyRoutes(app, config);

  return app;
}
