// Builds the data node's HTTP app (no listen here, so tests can inject without a port).

import websocket from '@fastify/websocket';
import Fastify, { type FastifyInstance } from 'fastify';
import { installErrorHandling, serverOptions } from '../../../shared/http-server.ts';
import { limits } from '../../../shared/limits.ts';
import type { DataNode } from './data-node.ts';
import { installClientRegion } from './http/client-region.ts';
import { registerClientRoutes } from './http/client-routes.ts';
import { registerFaultRoutes } from './http/fault-routes.ts';
import { registerInternalRoutes } from './http/internal-routes.ts';
import { registerTrafficRoutes } from './http/traffic-routes.ts';

export async function buildNodeApp(node: DataNode): Promise<FastifyInstance> {
  const app = Fastify(serverOptions(node.logger.child({ component: 'http' }), limits.bodyBytesMax + limits.mirrorBatchBytesMax));
  installErrorHandling(app);
  // Raw bodies: log frames for the mirror, and any non-JSON client body taken as a string. Body
  // limits are set per route, never per parser, so a 413 can name the limit that was in force.
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));
  await app.register(websocket, { options: { maxPayload: limits.streamMessageBytesMax } });
  // Fault rules act on this node's answers to peers (and WebSocket handshakes): before any route.
  node.link.installHooks(app);
  // x-client-region: a client's simulated distance under the WAN profile.
  installClientRegion(app, node);
  registerInternalRoutes(app, node);
  registerFaultRoutes(app, node);
  registerTrafficRoutes(app, node);
  registerClientRoutes(app, node);
  return app;
}
