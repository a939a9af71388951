// @ts-check
// The page's one state object, and the reducer that folds control's events into it. Every view
// (topology, charts, message view, timeline) reads from here; nothing else keeps cluster state.
//
// Bounded like the services: the timeline keeps TIMELINE_MAX events, the charts CHART_WINDOW_MS,
// the message view TRAFFIC_KEEP_MS of records (and at most TRAFFIC_MAX).

export const TIMELINE_MAX = 300;
export const CHART_WINDOW_MS = 60_000;
export const TRAFFIC_KEEP_MS = 15_000;
export const TRAFFIC_MAX = 4000;

// Events that are live readings, not history: they feed the views but not the timeline.
const LIVE_TYPES = new Set(['status', 'writes', 'traffic', 'load']);

export const state = {
  // connecting | live | down (control unreachable), with the retry plan.
  connection: { state: 'connecting', attempt: 0, retryAtMs: 0, error: null, lastEventAtMs: 0 },
  // The last status snapshot: {primary, epoch, nodes: {id: status | {reachable:false,error}}}.
  cluster: { primary: null, epoch: 0, nodes: {} },
  // Ids of the data nodes, in control's PEERS order.
  nodeIds: [],
  faults: new Map(),
  // nodeId -> local ms until which a pause control applied lasts.
  pausedUntil: new Map(),
  // nodeId -> local ms of the last crash control caused.
  crashedAt: new Map(),
  // The last role each node reported while reachable (to place and label it once it is down).
  lastRole: new Map(),
  timeline: [],
  // Rolling chart data: arrays of {t, value} per series, t in local ms.
  series: { writes: [], latency: new Map(), lag: new Map() },
  // Traffic records with `atLocal` (the sender's time on this browser's clock).
  traffic: [],
  // {t, n}: records control sampled out (busy links), for the message view's footnote.
  trafficDropped: [],
  load: null,
  // Control's clock minus this browser's, from the events' `at`; so node times line up with now.
  clockOffsetMs: 0,
  clockSamples: 0,
};

// Control's time now, as the nodes stamp their records.
export function serverNow() {
  return Date.now() + state.clockOffsetMs;
}

// A fresh start after (re)connecting: the history, the cluster as it is (with the active faults),
// the load generator's report.
export function reset({ history, cluster, load }) {
  state.timeline = history.filter((e) => !LIVE_TYPES.has(e.type)).slice(-TIMELINE_MAX).reverse();
  state.faults = new Map((cluster.faults ?? []).map((f) => [f.id, f]));
  state.load = load ?? null;
  state.pausedUntil.clear();
  for (const e of history) {
    if (e.type === 'node-paused' && typeof e.ms === 'number') {
      const until = Date.parse(e.at) - state.clockOffsetMs + e.ms;
      if (until > Date.now()) state.pausedUntil.set(e.nodeId, until);
    }
  }
  applyStatus(cluster);
}

// Folds one event in. Returns the kinds of views that must redraw.
export function apply(event) {
  noteClock(event);
  state.connection.lastEventAtMs = Date.now();
  switch (event.type) {
    case 'status':
      applyStatus(event);
      return { topology: true, charts: true };
    case 'writes':
      applyWrites(event);
      return { charts: true };
    case 'traffic':
      applyTraffic(event);
      return {};
    case 'load':
      state.load = event;
      return { load: true };
    default:
      return applyRecorded(event);
  }
}

function applyRecorded(event) {
  if (state.timeline.some((e) => e.seq === event.seq)) return {};
  state.timeline.unshift(event);
  if (state.timeline.length > TIMELINE_MAX) state.timeline.length = TIMELINE_MAX;
  const redraw = { timeline: true };
  switch (event.type) {
    case 'fault-added':
      if (event.fault) state.faults.set(event.fault.id, event.fault);
      redraw.topology = true;
      break;
    case 'fault-removed':
      if (event.fault) state.faults.delete(event.fault.id);
      redraw.topology = true;
      break;
    case 'faults-cleared':
      state.faults.clear();
      redraw.topology = true;
      break;
    case 'fault-profile':
      // A profile replaces the previous profile's rules at once.
      for (const fault of event.removed ?? []) state.faults.delete(fault.id);
      for (const fault of event.added ?? []) state.faults.set(fault.id, fault);
      redraw.topology = true;
      break;
    case 'node-paused':
      state.pausedUntil.set(event.nodeId, Date.now() + (event.ms ?? 0));
      redraw.topology = true;
      break;
    case 'node-crashed':
      state.crashedAt.set(event.nodeId, Date.now());
      redraw.topology = true;
      break;
    case 'load-started':
      state.load = { running: true, ...event };
      redraw.load = true;
      break;
    case 'load-stopped':
      state.load = { ...(state.load ?? {}), running: false, ...event };
      redraw.load = true;
      break;
  }
  return redraw;
}

export function applyStatus(snapshot) {
  state.cluster = { primary: snapshot.primary ?? null, epoch: snapshot.epoch ?? 0, nodes: snapshot.nodes ?? {} };
  for (const id of Object.keys(state.cluster.nodes)) if (!state.nodeIds.includes(id)) state.nodeIds.push(id);
  for (const [id, node] of Object.entries(state.cluster.nodes)) if (node.role) state.lastRole.set(id, node.role);
  if (snapshot.type !== 'status') return;
  const now = Date.now();
  const primary = snapshot.primary ? snapshot.nodes[snapshot.primary] : null;
  for (const [level, summary] of Object.entries(primary?.writeLatency ?? {})) push(seriesOf(state.series.latency, level), now, summary.p50Ms);
  if (primary?.mirror?.id) push(seriesOf(state.series.lag, primary.mirror.id), now, primary.mirror.lagMs ?? 0);
  for (const replica of primary?.replicas ?? []) push(seriesOf(state.series.lag, replica.id), now, replica.connected ? replica.lagMs : null);
  trim(now);
}

// Control measures the rate over each 250 ms poll round, which jitters; the chart shows the mean
// of the last WRITES_SMOOTHING rounds (one second).
const WRITES_SMOOTHING = 4;
const recentWrites = [];

function applyWrites(event) {
  const primary = state.cluster.primary;
  recentWrites.push(primary ? (event.perSecond?.[primary] ?? 0) : 0);
  if (recentWrites.length > WRITES_SMOOTHING) recentWrites.shift();
  push(state.series.writes, Date.now(), recentWrites.reduce((a, b) => a + b, 0) / recentWrites.length);
}

// Entries per second the primary appends now (smoothed over a second).
export function writesPerSecond() {
  return state.series.writes.at(-1)?.value ?? 0;
}

// A replica acks after every heartbeat too; an ack that reports the LSN its sender acked last time
// carries no news, and the message view shows it with the heartbeats (`idle`).
const lastAckLsn = new Map();

function applyTraffic(event) {
  for (const record of event.records ?? []) {
    let idle = false;
    if (record.kind === 'stream-ack' || record.kind === 'mirror-ack') {
      const key = `${record.from}>${record.to}`;
      idle = lastAckLsn.get(key) === record.toLsn;
      lastAckLsn.set(key, record.toLsn);
    }
    state.traffic.push({ ...record, idle, atLocal: record.at - state.clockOffsetMs });
  }
  const oldest = Date.now() - TRAFFIC_KEEP_MS;
  let drop = 0;
  while (drop < state.traffic.length && state.traffic[drop].atLocal < oldest) drop++;
  if (state.traffic.length - drop > TRAFFIC_MAX) drop = state.traffic.length - TRAFFIC_MAX;
  if (drop > 0) state.traffic.splice(0, drop);
  if (event.dropped > 0) state.trafficDropped.push({ t: Date.now(), n: event.dropped });
  while (state.trafficDropped.length > 0 && state.trafficDropped[0].t < oldest) state.trafficDropped.shift();
}

function seriesOf(map, key) {
  let series = map.get(key);
  if (!series) map.set(key, (series = []));
  return series;
}

function push(series, t, value) {
  series.push({ t, value });
}

function trim(now) {
  const oldest = now - CHART_WINDOW_MS;
  const cut = (series) => {
    let i = 0;
    while (i < series.length && series[i].t < oldest) i++;
    if (i > 0) series.splice(0, i);
  };
  cut(state.series.writes);
  for (const map of [state.series.latency, state.series.lag]) {
    for (const [key, series] of map) {
      cut(series);
      if (series.length === 0) map.delete(key);
    }
  }
}

// Control's clock from the events' `at`: the smallest recent difference is the best estimate
// (delivery only ever adds delay).
function noteClock(event) {
  if (typeof event.at !== 'string') return;
  const sample = Date.parse(event.at) - Date.now();
  if (!Number.isFinite(sample)) return;
  if (state.clockSamples === 0) state.clockOffsetMs = sample;
  else state.clockOffsetMs = Math.min(sample, state.clockOffsetMs + 5);
  state.clockSamples++;
}

// What a node is now: alive, paused (control paused it and it is not answering), or down.
export function liveness(id) {
  const node = state.cluster.nodes[id];
  if (node?.role) return { state: 'alive' };
  const pausedUntil = state.pausedUntil.get(id) ?? 0;
  if (pausedUntil > Date.now() - 1000) return { state: 'paused', leftMs: Math.max(0, pausedUntil - Date.now()) };
  return { state: 'down', reason: node?.error ?? 'not polled yet' };
}

// The role a node has, or had when last seen: what it says, else what the primary says it is
// (a paused mirror is still the mirror), else the last role it reported.
export function knownRole(id) {
  const node = state.cluster.nodes[id];
  if (node?.role) return node.role;
  const { mirror, replicas } = roles();
  if (mirror?.id === id) return 'mirror';
  if (replicas.some((r) => r.id === id)) return 'replica';
  return state.lastRole.get(id) ?? '';
}

// The roles of the cluster now: the primary, its mirror and replicas as the primary reports them.
export function roles() {
  const { primary, nodes } = state.cluster;
  const status = primary ? nodes[primary] : null;
  return {
    primary,
    status,
    mirror: status?.mirror?.id ? status.mirror : null,
    replicas: status?.replicas ?? [],
  };
}
