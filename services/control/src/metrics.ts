// Prometheus metrics of the control service (prom-client), named after Prometheus conventions.
// GET /metrics answers them in the text format, like every data node does.

import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { refuseOtherMethods } from '../../../shared/http-server.ts';

export function createControlMetrics(nodeId: string) {
  const registry = new Registry();
  registry.setDefaultLabels({ node: nodeId });
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    faultsActive: new Gauge({ name: 'mirrorlab_control_faults_active', help: 'Fault rules in control\'s table', registers: [registry] }),
    eventsTotal: new Counter({ name: 'mirrorlab_control_events_total', help: 'Events control has published, by type', labelNames: ['type'], registers: [registry] }),
    eventSubscribers: new Gauge({ name: 'mirrorlab_control_event_subscribers', help: 'Live subscribers of GET /events', registers: [registry] }),
    nodesReachable: new Gauge({ name: 'mirrorlab_control_nodes_reachable', help: 'Data nodes that answered control\'s last status poll', registers: [registry] }),
    nodeReachable: new Gauge({ name: 'mirrorlab_control_node_reachable', help: '1 when this data node answered control\'s last status poll, else 0', labelNames: ['peer'], registers: [registry] }),
  };
}

export type ControlMetrics = ReturnType<typeof createControlMetrics>;

// `refresh` reads what is cheaper to read at scrape time than to track.
export function registerMetricsRoute(app: FastifyInstance, metrics: ControlMetrics, refresh: () => void): void {
  app.get('/metrics', async (_request, reply) => {
    refresh();
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  refuseOtherMethods(app, '/metrics', ['GET']);
}
