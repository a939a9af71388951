// Prometheus metrics of a data node (prom-client), named after Prometheus conventions.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createNodeMetrics(nodeId: string) {
  const registry = new Registry();
  registry.setDefaultLabels({ node: nodeId });
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    writeSeconds: new Histogram({
      name: 'mirrorlab_write_duration_seconds',
      help: 'Time from receiving a write to acknowledging it, by ack level',
      labelNames: ['ack'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    writesTotal: new Counter({ name: 'mirrorlab_writes_total', help: 'Writes acknowledged, by ack level', labelNames: ['ack'], registers: [registry] }),
    lagSeconds: new Gauge({ name: 'mirrorlab_replication_lag_seconds', help: 'How far each copy trails the primary', labelNames: ['copy'], registers: [registry] }),
    lagEntries: new Gauge({ name: 'mirrorlab_replication_lag_entries', help: 'Entries each copy has not confirmed yet', labelNames: ['copy'], registers: [registry] }),
    shippedEntriesTotal: new Gauge({ name: 'mirrorlab_shipped_entries_total', help: 'Entries sent to each copy', labelNames: ['copy'], registers: [registry] }),
    shippedBytesTotal: new Gauge({ name: 'mirrorlab_shipped_bytes_total', help: 'Bytes of entries sent to each copy', labelNames: ['copy'], registers: [registry] }),
    epoch: new Gauge({ name: 'mirrorlab_epoch', help: 'The epoch this node knows', registers: [registry] }),
    role: new Gauge({ name: 'mirrorlab_role', help: '1 for the role this node has now', labelNames: ['role'], registers: [registry] }),
    lsn: new Gauge({ name: 'mirrorlab_lsn', help: 'Last LSN in this node\'s log', registers: [registry] }),
    appliedLsn: new Gauge({ name: 'mirrorlab_applied_lsn', help: 'LSN this node\'s state reflects', registers: [registry] }),
    faultsActive: new Gauge({ name: 'mirrorlab_faults_active', help: 'Fault rules that touch this node', registers: [registry] }),
  };
}

export type NodeMetrics = ReturnType<typeof createNodeMetrics>;
