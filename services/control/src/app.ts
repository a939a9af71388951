// Builds the control service's HTTP app without listening, so tests can `inject` into it and
// main.ts alone owns the port. The cluster view's poll loop lives and dies with the app.
//
// What the app creates and hands to the modules that need it:
//   link    control's end of the link layer (shared/link.ts): the fault rules act on control's
//           answers to the nodes (the witness channel); control-plane requests bypass them
//   events  the event hub: `events.emit(type, fields)` publishes to GET /events and the history
//   view    the cluster view (status polls), and `faults` the rule table

import websocket from '@fastify/websocket';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { installErrorHandling, refuseOtherMethods, serverOptions } from '../../../shared/http-server.ts';
import { limits } from '../../../shared/limits.ts';
import { Link } from '../../../shared/link.ts';
import { CONTROL_ID } from '../../../shared/topology.ts';
import { ClusterView } from './cluster-view.ts';
import type { ControlConfig } from './config.ts';
import { registerCopyRoutes } from './copies.ts';
import { registerDashboardRoutes } from './dashboard/dashboard-routes.ts';
import { LoadGenerator } from './dashboard/load-generator.ts';
import { TrafficWatch } from './dashboard/traffic-watch.ts';
import { ClusterWatch } from './events/cluster-watch.ts';
import { EventHub } from './events/event-hub.ts';
import { registerEventRoutes } from './events/event-routes.ts';
import { registerFaultRoutes } from './faults/fault-routes.ts';
import { FaultSync } from './faults/fault-sync.ts';
import { FaultTable } from './faults/fault-table.ts';
import { PauseBook } from './faults/pause-book.ts';
import { Membership, registerMemberRoutes } from './membership.ts';
import { createControlMetrics, registerMetricsRoute } from './metrics.ts';
import { ClusterReset, registerResetRoutes } from './reset/cluster-reset.ts';
import { Witness } from './witness/witness.ts';
import { registerWitnessRoutes } from './witness/witness-routes.ts';

export function buildControlApp(bootConfig: ControlConfig, logger: Logger): FastifyInstance {
  // The members: PEERS and every node that registered later. `config.peers` below is their live
  // list, so every module sees a new member from its next use on.
  const members = new Membership({ configured: bootConfig.peers, dataDir: bootConfig.dataDir, membersMax: limits.membersMax, logger: logger.child({ component: 'members' }) });
  const config: ControlConfig = { ...bootConfig, peers: members.peers };

  // Control's request bodies are small (fault rules, modes); the shared body bound is ample.
  const app = Fastify(serverOptions(logger, limits.bodyBytesMax));
  installErrorHandling(app);
  // Nodes address control as `control` (CONTROL_ID); so do the fault rules.
  const link = new Link(CONTROL_ID);
  link.installHooks(app);

  const metrics = createControlMetrics(config.nodeId);
  const events = new EventHub({
    historyMax: limits.eventHistoryMax,
    subscribersMax: limits.eventSubscribersMax,
    onEvent: (event) => metrics.eventsTotal.inc({ type: event.type }),
  });

  const view = new ClusterView({
    peers: config.peers,
    pollMs: limits.statusPollMs,
    requestTimeoutMs: limits.statusPollTimeoutMs,
    logger: logger.child({ component: 'cluster-view' }),
  });

  const faults = new FaultTable({ dataDir: config.dataDir, rulesMax: limits.faultRulesMax, logger: logger.child({ component: 'faults' }) });
  const sync = new FaultSync({
    peers: config.peers,
    selfId: CONTROL_ID,
    secret: config.clusterSecret,
    link,
    timeoutMs: limits.peerRequestTimeoutMs,
    logger: logger.child({ component: 'faults' }),
    rules: () => faults.list(),
    hash: () => faults.hash,
    onResent: (nodeId, theirHash) => events.emit('faults-resent', { nodeId, theirHash, hash: faults.hash, rules: faults.list().length }),
  });
  faults.onChange((rules) => {
    link.setRules(rules);
    metrics.faultsActive.set(rules.length);
  });
  const watch = new ClusterWatch({ peers: config.peers, selfId: CONTROL_ID, secret: config.clusterSecret, link, hub: events, logger: logger.child({ component: 'events' }) });
  view.onRound((snapshot) => {
    watch.onRound(snapshot);
    sync.reconcile(snapshot);
  });

  // Poll from the moment the app is ready, not from the first request, so /cluster is warm; the
  // persisted fault rules are back in force before the first round.
  app.addHook('onReady', async () => {
    await members.load();
    await faults.load();
    void view.start();
  });
  app.addHook('onClose', async () => {
    await view.close();
    await link.close();
  });

  app.get('/health', async () => ({ status: 'ok', id: config.nodeId }));
  refuseOtherMethods(app, '/health', ['GET', 'HEAD']);

  app.get('/cluster', async () => {
    // Right after boot the first round may still be running; it is bounded by the request timeout.
    await view.ready();
    return { ...view.snapshot(), faults: faults.list() };
  });
  refuseOtherMethods(app, '/cluster', ['GET', 'HEAD']);
  registerCopyRoutes(app, config);
  const pauses = new PauseBook();
  const regions = () => Object.fromEntries(Object.values(view.snapshot().nodes).map((n) => [n.id, 'region' in n ? n.region : undefined]));
  registerFaultRoutes(app, { config, table: faults, sync, link, pauses, regions, emit: events.emit });

  // GET /events is a WebSocket route: its plugin must be loaded before the route is declared.
  void app.register(websocket, { options: { maxPayload: limits.eventMessageBytesMax } });
  void app.register(async (scope) => registerEventRoutes(scope, events));

  registerMetricsRoute(app, metrics, () => {
    const nodes = Object.values(view.snapshot().nodes);
    metrics.nodesReachable.set(nodes.filter((n) => 'role' in n).length);
    for (const node of nodes) metrics.nodeReachable.set({ peer: node.id }, 'role' in node ? 1 : 0);
    metrics.eventSubscribers.set(events.subscriberCount);
  });

  // The witness: failover decisions, persisted in DATA_DIR so a control restart keeps them.
  const witnessLogger = logger.child({ component: 'witness' });
  const witness = new Witness(config, witnessLogger, link, (type, fields) => {
    witnessLogger.info({ event: type, ...fields }, type);
    events.emit(type, fields);
  });
  app.addHook('onReady', async () => {
    await witness.load();
  });
  registerWitnessRoutes(app, witness, config.clusterSecret);
  registerMemberRoutes(app, { members, secret: config.clusterSecret, witness: () => { const { epoch, primaryId, mirrorId } = witness.view(); return { epoch, primaryId, mirrorId }; }, emit: events.emit });

  // POST /cluster/reset: back to the starting point (heals, modes, roles), without touching data.
  const reset = new ClusterReset({ config, table: faults, sync, witness, pauses, view: () => view.snapshot(), emit: events.emit, logger: logger.child({ component: 'reset' }) });
  registerResetRoutes(app, reset, config.nodeCmd);

  // The dashboard (GET / and its files), the traffic its message view draws (collected from every
  // node's traffic log after each poll round), and the load generator its buttons start.
  const traffic = new TrafficWatch({
    peers: config.peers,
    selfId: CONTROL_ID,
    secret: config.clusterSecret,
    link,
    broadcast: events.broadcast,
    subscribers: () => events.subscriberCount,
    logger: logger.child({ component: 'traffic' }),
  });
  view.onRound((snapshot) => traffic.onRound(snapshot));
  const load = new LoadGenerator({
    primary: () => {
      const id = view.snapshot().primary;
      const peer = config.peers.find((p) => p.id === id);
      return peer ? { id: peer.id, url: peer.url } : null;
    },
    emit: events.emit,
    broadcast: events.broadcast,
    logger: logger.child({ component: 'load' }),
  });
  app.addHook('onClose', async () => load.close());
  void app.register(async (scope) => registerDashboardRoutes(scope, load));

  return app;
}
