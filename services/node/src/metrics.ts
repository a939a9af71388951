// Prometheus metrics of a data node (prom-client), named after Prometheus conventions: base units
// (seconds, bytes) in the name, `_total` only on counters, one `copy` label per copy.
// Histograms and counters of writes are updated where writes finish (DataNode's onWrite); the
// rest is read from the node's state at scrape time (refreshNodeMetrics).

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DataNode } from './data-node.ts';

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
    lagSeconds: new Gauge({ name: 'mirrorlab_replication_lag_seconds', help: 'How far each copy trails the primary, in seconds (age of the oldest entry it has not confirmed)', labelNames: ['copy'], registers: [registry] }),
    lagEntries: new Gauge({ name: 'mirrorlab_replication_lag_entries', help: 'Entries each copy has not confirmed yet', labelNames: ['copy'], registers: [registry] }),
    shippedEntriesTotal: new Counter({ name: 'mirrorlab_shipped_entries_total', help: 'Entries sent to each copy by this node as primary', labelNames: ['copy'], registers: [registry] }),
    shippedBytesTotal: new Counter({ name: 'mirrorlab_shipped_bytes_total', help: 'Bytes of entries sent to each copy by this node as primary', labelNames: ['copy'], registers: [registry] }),
    epoch: new Gauge({ name: 'mirrorlab_epoch', help: 'The epoch this node knows', registers: [registry] }),
    role: new Gauge({ name: 'mirrorlab_role', help: '1 for the role this node has now, 0 for the others', labelNames: ['role'], registers: [registry] }),
    lsn: new Gauge({ name: 'mirrorlab_lsn', help: 'Last LSN in this node\'s log', registers: [registry] }),
    appliedLsn: new Gauge({ name: 'mirrorlab_applied_lsn', help: 'LSN this node\'s state reflects', registers: [registry] }),
    faultsActive: new Gauge({ name: 'mirrorlab_faults_active', help: 'Fault rules that act on this node\'s traffic', registers: [registry] }),
    // What the shipping counters last saw per copy, to add only the difference to the counters.
    shippedSeen: new Map<string, { source: object; entries: number; bytes: number }>(),
  };
}

export type NodeMetrics = ReturnType<typeof createNodeMetrics>;

// Reads the node's state into the gauges, and what was shipped since the last scrape into the
// counters. Called before every scrape of GET /metrics.
export function refreshNodeMetrics(node: DataNode, status: { replicas: Array<{ id: string; lagMs: number; lagEntries: number }> }): void {
  const m = node.metrics;
  m.lsn.set(node.store.lastLsn);
  m.appliedLsn.set(node.store.appliedLsn);
  m.epoch.set(node.epoch);
  m.faultsActive.set(node.link.rulesTouchingSelf().length);
  // Copies come and go (failover, a replica that left): only the current ones keep a value.
  m.lagSeconds.reset();
  m.lagEntries.reset();
  for (const replica of status.replicas) {
    m.lagSeconds.set({ copy: replica.id }, replica.lagMs / 1000);
    m.lagEntries.set({ copy: replica.id }, replica.lagEntries);
  }
  const primary = node.primary;
  const shipper = primary?.shipper;
  const mirrorId = primary?.mirrorId;
  if (shipper && mirrorId) {
    const oldest = shipper.ackedLsn < node.store.lastLsn ? node.store.entryAt(shipper.ackedLsn + 1) : undefined;
    m.lagSeconds.set({ copy: mirrorId }, oldest ? Math.max(0, Date.now() - oldest.ts) / 1000 : 0);
    m.lagEntries.set({ copy: mirrorId }, Math.max(0, node.store.lastLsn - shipper.ackedLsn));
    countShipped(m, mirrorId, shipper, shipper.entriesShipped, shipper.bytesShipped);
  }
  for (const stream of primary?.replicaStreams() ?? []) countShipped(m, stream.id, stream, stream.entriesSent, stream.bytesSent);
  if (node.replica) m.lagSeconds.set({ copy: node.config.nodeId }, node.replica.lagMs() / 1000);
}

// A shipper or stream counts from zero; a new one (reconnect, failover) starts a new count.
function countShipped(m: NodeMetrics, copy: string, source: object, entries: number, bytes: number): void {
  const seen = m.shippedSeen.get(copy);
  const same = seen !== undefined && seen.source === source && entries >= seen.entries && bytes >= seen.bytes;
  m.shippedEntriesTotal.inc({ copy }, same ? entries - seen.entries : entries);
  m.shippedBytesTotal.inc({ copy }, same ? bytes - seen.bytes : bytes);
  m.shippedSeen.set(copy, { source, entries, bytes });
}
