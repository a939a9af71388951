// @ts-check
// The topology: one card per process (the witness on top, the primary left, the mirror right,
// replicas below), the links between them with their copy mode (sync solid, async dashed), and
// the active fault rules drawn on the links they act on. Redrawn whole from state on every status
// snapshot: a few dozen SVG elements, four times a second.
//
// Cards are placed by role, so after a failover the new primary moves to the primary's place and
// the old one, down, waits in the mirror's place (where it will rejoin).

import { fmtMs, fmtNumber, s } from './dom.js';
import { badgeText, linkKey, namedPair, rulesOnLink } from './fault-rules.js';
import { colours, roleColours } from './palette.js';
import { knownRole, liveness, roles, state, writesPerSecond } from './state.js';

// In the SVG's viewBox (1000 × 670).
const CARD = { w: 330, h: 174 };
const WITNESS = { w: 420, h: 84 };
const WITNESS_AT = { x: 500, y: 46 };
const PRIMARY_AT = { x: 170, y: 254 };
const MIRROR_AT = { x: 830, y: 254 };
const REPLICA_ROW_Y = 580;
const REPLICA_SPACING = 440;
// Lag bars fill up on a log scale: 10 s of lag fills the bar.
const LAG_FULL_MS = 10_000;

const MIRROR_STATE_COLOURS = { synchronized: colours.healthy, synchronizing: '#b37400', suspended: colours.fault, disconnected: colours.fault };

// Where each process goes, by role; see the header comment.
function layout() {
  const { primary, mirror } = roles();
  /** @type {Map<string, { x: number, y: number, witness?: boolean }>} */
  const at = new Map([['control', { ...WITNESS_AT, witness: true }]]);
  const free = () => state.nodeIds.filter((id) => !at.has(id));
  if (primary) at.set(primary, PRIMARY_AT);
  const mirrorId = mirror?.id ?? free().find((id) => state.cluster.nodes[id]?.role === 'mirror');
  if (mirrorId && !at.has(mirrorId)) at.set(mirrorId, MIRROR_AT);
  if (!primary) {
    const was = free().find((id) => state.lastRole.get(id) === 'primary');
    if (was) at.set(was, PRIMARY_AT);
  }
  if (![...at.values()].includes(MIRROR_AT)) {
    const was = free().find((id) => !state.cluster.nodes[id]?.role && ['mirror', 'primary'].includes(state.lastRole.get(id)));
    if (was) at.set(was, MIRROR_AT);
  }
  const rest = free();
  // A node that joined later (replica-3) is one more card in the row: the row tightens to stay
  // inside the 1000-wide viewBox (three cards fit side by side).
  const spacing = Math.min(REPLICA_SPACING, (1000 - CARD.w) / Math.max(1, rest.length - 1));
  for (const [i, id] of rest.entries()) at.set(id, { x: 500 + (i - (rest.length - 1) / 2) * spacing, y: REPLICA_ROW_Y });
  return at;
}

// The links to draw: the primary's copies, the witness channel of every node, and any pair a
// fault rule names that no traffic uses.
function links(at) {
  const { primary, mirror, replicas } = roles();
  const found = new Map();
  const add = (a, b, fields) => {
    if (!at.has(a) || !at.has(b)) return;
    const key = linkKey(a, b);
    if (!found.has(key)) found.set(key, { a, b, key, ...fields });
  };
  if (primary && mirror) add(primary, mirror.id, { kind: 'mirror', mode: mirror.mode, connected: mirror.state !== 'disconnected' });
  if (primary) for (const r of replicas) add(primary, r.id, { kind: 'replica', mode: r.mode, connected: r.connected });
  for (const id of state.nodeIds) add(id, 'control', { kind: 'witness' });
  for (const rule of state.faults.values()) {
    const pair = namedPair(rule);
    if (pair) add(pair[0], pair[1], { kind: 'other' });
  }
  return [...found.values()];
}

// Clicks are handled by the caller on the <svg> itself (data-node, data-link), not on these
// elements: they are replaced four times a second and would swallow a click in between.
export function renderTopology(svg) {
  const at = layout();
  const all = links(at);
  const rules = [...state.faults.values()];
  const lines = s('g', { class: 'links' });
  const badges = s('g', { class: 'fault-badges' });
  for (const link of all) {
    const geometry = segment(at.get(link.a), at.get(link.b));
    const onLink = rulesOnLink(rules, link.a, link.b);
    lines.append(drawLink(link, geometry, onLink));
    const labelled = onLink.filter(({ rule }) => !isWholesale(rule));
    if (labelled.length > 0) badges.append(drawFaults(link, geometry, labelled));
  }
  const cards = s('g', { class: 'cards' });
  for (const [id, pos] of at) cards.append(pos.witness ? witnessCard(pos) : nodeCard(id, pos));
  svg.replaceChildren(defs(), lines, cards, badges, isolationBadges(at, rules));
}

// A partition by groups or `isolate` cuts many links at once: the links get the cut marks, and
// instead of a badge on each, the isolated process gets one (groups are in the timeline).
function isWholesale(rule) {
  return rule.kind === 'partition' && (rule.isolate !== undefined || rule.groups !== undefined);
}

function isolationBadges(at, rules) {
  const group = s('g', { class: 'isolation-badges' });
  for (const rule of rules) {
    if (rule.kind !== 'partition' || rule.isolate === undefined || !at.has(rule.isolate)) continue;
    const pos = at.get(rule.isolate);
    const size = pos.witness ? WITNESS : CARD;
    const text = `✂ isolated${rule.mode === 'reject' ? ' (reset)' : ''}`;
    const width = 24 + text.length * 11;
    group.append(s('g', { class: 'fault', 'data-fault': rule.id, 'data-kind': 'partition', 'data-isolated': rule.isolate, transform: `translate(${pos.x - width / 2} ${pos.y - size.h / 2 - 18})` },
      s('title', { text: `${rule.id}: ${rule.description}` }),
      s('rect', { width, height: 32, rx: 8, fill: colours.fault, stroke: '#fff', 'stroke-width': 2 }),
      s('text', { x: 12, y: 23, class: 'fault-text', text })));
  }
  return group;
}

function defs() {
  return s('defs', {},
    s('pattern', { id: 'hatch', width: 14, height: 14, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' },
      s('rect', { width: 14, height: 14, fill: '#ececec' }),
      s('line', { x1: 0, y1: 0, x2: 0, y2: 14, stroke: '#c8c8c8', 'stroke-width': 6 })),
    s('marker', { id: 'fault-arrow', viewBox: '0 0 10 10', refX: 5, refY: 5, markerWidth: 5, markerHeight: 5, orient: 'auto-start-reverse' },
      s('path', { d: 'M0,0 L10,5 L0,10 z', fill: colours.fault })));
}

// The straight line between two cards, clipped to their edges.
function segment(pa, pb) {
  const sizeA = pa.witness ? WITNESS : CARD;
  const sizeB = pb.witness ? WITNESS : CARD;
  const from = clip(pa, sizeA, pb);
  const to = clip(pb, sizeB, pa);
  const length = Math.hypot(to.x - from.x, to.y - from.y) || 1;
  return { from, to, length, ux: (to.x - from.x) / length, uy: (to.y - from.y) / length };
}

function clip(center, size, toward) {
  const dx = toward.x - center.x;
  const dy = toward.y - center.y;
  const scale = Math.min(Math.abs(dx) > 0 ? size.w / 2 / Math.abs(dx) : Infinity, Math.abs(dy) > 0 ? size.h / 2 / Math.abs(dy) : Infinity);
  const k = Math.min(1, scale + 6 / Math.hypot(dx, dy));
  return { x: center.x + dx * k, y: center.y + dy * k };
}

function pointAt(g, t, normal = 0) {
  return { x: g.from.x + (g.to.x - g.from.x) * t - g.uy * normal, y: g.from.y + (g.to.y - g.from.y) * t + g.ux * normal };
}

function drawLink(link, g, onLink) {
  const cut = onLink.some(({ rule }) => rule.kind === 'partition');
  const colour = link.kind === 'mirror' ? colours.mirroring : link.kind === 'replica' ? colours.replication : link.kind === 'witness' ? colours.witness : colours.chatter;
  const copy = link.kind === 'mirror' || link.kind === 'replica';
  const width = copy ? 7 : 2.5;
  const dash = copy ? (link.connected === false ? '2 10' : link.mode === 'async' ? '16 10' : null) : '3 7';
  const group = s('g', { class: `link link-${link.kind}${cut ? ' cut' : ''}`, 'data-link': link.key, 'data-mode': link.mode ?? '' },
    s('title', { text: `${link.a} ↔ ${link.b}${copy ? ` — ${link.mode} ${link.kind === 'mirror' ? 'mirroring over HTTP' : 'replication over WebSocket'}` : link.kind === 'witness' ? ' — heartbeats to the witness' : ''}` }),
    // A wide transparent line makes the link easy to click.
    s('line', { x1: g.from.x, y1: g.from.y, x2: g.to.x, y2: g.to.y, stroke: 'transparent', 'stroke-width': 24 }),
    s('line', { x1: g.from.x, y1: g.from.y, x2: g.to.x, y2: g.to.y, stroke: colour, 'stroke-width': width, 'stroke-dasharray': dash, 'stroke-linecap': 'round', opacity: link.kind === 'witness' && onLink.length === 0 ? 0.55 : 1 }));
  if (copy) {
    // Beside the line, clear of the fault badges (on the line at 28 % or 72 %, see drawFaults).
    const near = onLink.filter(({ rule }) => !isWholesale(rule)).map(({ ab, ba }) => (ab && ba ? 0.5 : ab ? 0.28 : 0.72));
    const t = near.includes(0.28) && !near.includes(0.72) ? 0.72 : near.includes(0.72) && !near.includes(0.28) ? 0.3 : 0.55;
    const p = pointAt(g, t, near.length > 0 && t === 0.55 ? -44 : -26);
    const text = `${link.mode}${link.connected === false ? ' · disconnected' : ''}`;
    group.append(s('text', { x: p.x, y: p.y + 7, 'text-anchor': 'middle', class: 'link-label', fill: colour, text }));
  }
  if (cut) {
    const m = pointAt(g, 0.5);
    const n = { x: -g.uy * 22, y: g.ux * 22 };
    for (const shift of [-7, 7]) {
      group.append(s('line', { x1: m.x - n.x + g.ux * shift, y1: m.y - n.y + g.uy * shift, x2: m.x + n.x + g.ux * shift, y2: m.y + n.y + g.uy * shift, stroke: colours.fault, 'stroke-width': 5 }));
    }
  }
  return group;
}

// One badge per rule on the link, near the sender's end for a one-way rule, with an arrow in the
// direction the rule acts.
function drawFaults(link, g, onLink) {
  const group = s('g', { class: 'link-faults', 'data-link': link.key });
  onLink.forEach(({ rule, ab, ba }, i) => {
    const t = ab && ba ? 0.5 : ab ? 0.28 : 0.72;
    // A second rule on the same link stacks beside the first.
    const p = pointAt(g, t, i * 34 * (g.uy > 0.3 ? 1 : -1));
    const text = badgeText(rule);
    const width = 22 + text.length * 11.5 + (ab && ba ? 0 : 20);
    const badge = s('g', { class: 'fault', 'data-fault': rule.id, 'data-kind': rule.kind, transform: `translate(${p.x - width / 2} ${p.y - 16})` },
      s('title', { text: `${rule.id}: ${rule.description}` }),
      s('rect', { width, height: 32, rx: 8, fill: colours.fault, stroke: '#fff', 'stroke-width': 2 }),
      s('text', { x: 11, y: 23, class: 'fault-text', text }));
    if (!(ab && ba)) {
      // ▶ or ◀ at the badge's end, along the rule's direction.
      const forward = ab ? 1 : -1;
      const angle = (Math.atan2(g.uy * forward, g.ux * forward) * 180) / Math.PI;
      badge.append(s('path', { d: 'M-6,-7 L8,0 L-6,7 z', fill: '#fff', transform: `translate(${width - 16} 16) rotate(${angle})` }));
    }
    group.append(badge);
  });
  return group;
}

function witnessCard(pos) {
  const live = state.connection.state === 'live';
  const { primary } = roles();
  const x0 = pos.x - WITNESS.w / 2;
  const y0 = pos.y - WITNESS.h / 2;
  return s('g', { class: `node witness state-${live ? 'alive' : 'down'}`, 'data-node': 'control', 'data-role': 'witness', 'data-state': live ? 'alive' : 'down', transform: `translate(${x0} ${y0})` },
    s('rect', { width: WITNESS.w, height: WITNESS.h, rx: 14, fill: live ? '#fff' : 'url(#hatch)', stroke: roleColours.witness, 'stroke-width': 4 }),
    s('text', { x: 16, y: 36, class: 'card-id', text: 'control' }),
    statePill(live ? { state: 'alive' } : { state: 'down' }, WITNESS.w - 14, 34),
    roleBadge('witness', 16, 50),
    s('text', { x: 142, y: 74, class: 'card-line', text: live ? `epoch ${state.cluster.epoch} · primary: ${primary ?? 'none'}` : 'unreachable' }));
}

function nodeCard(id, pos) {
  const node = state.cluster.nodes[id];
  const live = liveness(id);
  const role = knownRole(id);
  const x0 = pos.x - CARD.w / 2;
  const y0 = pos.y - CARD.h / 2;
  const fill = live.state === 'alive' ? '#fff' : live.state === 'paused' ? '#fbf6c4' : 'url(#hatch)';
  const group = s('g', { class: `node state-${live.state}`, 'data-node': id, 'data-role': node?.role ?? '', 'data-state': live.state, transform: `translate(${x0} ${y0})` },
    s('rect', { width: CARD.w, height: CARD.h, rx: 16, fill, stroke: roleColours[role] ?? colours.faint, 'stroke-width': role === 'primary' && live.state === 'alive' ? 7 : 4 }),
    s('text', { x: 16, y: 38, class: 'card-id', text: id }),
    statePill(live, CARD.w - 14, 36));
  if (live.state !== 'alive') {
    group.append(
      roleBadge(role || 'unknown', 16, 52, true),
      s('text', { x: 16, y: 114, class: 'card-line strong', fill: live.state === 'paused' ? '#5c5200' : colours.fault, text: live.state === 'paused' ? 'event loop stopped' : shorten(live.reason, 26) }),
      s('text', { x: 16, y: 146, class: 'card-line faint', text: [live.state === 'paused' && live.leftMs > 0 ? `${(live.leftMs / 1000).toFixed(1)} s left` : null, role ? `last seen as ${role}` : 'never seen'].filter(Boolean).join(' · ') }));
    return group;
  }
  group.append(
    roleBadge(node.role, 16, 52),
    s('text', { x: 16 + badgeWidth(node.role) + 12, y: 76, class: 'card-line', text: `epoch ${node.epoch}` }),
    s('text', { x: 16, y: 110, class: 'card-line', text: `LSN ${fmtNumber(node.lsn)} · applied ${fmtNumber(node.appliedLsn)}` }));
  group.append(...roleLines(id, node));
  return group;
}

// The bottom lines of a live card: what matters about this role.
function roleLines(id, node) {
  const { mirror, replicas } = roles();
  if (node.role === 'primary') {
    const latency = node.writeLatency ?? {};
    const level = latency.sync ? 'sync' : Object.keys(latency)[0];
    const rate = writesPerSecond();
    const text = level ? `${fmtNumber(rate)} writes/s · ${level} ${fmtMs(latency[level].p50Ms)}` : `${fmtNumber(rate)} writes/s`;
    const copies = `replicas ${replicas.filter((r) => r.connected).length}/${replicas.length}${node.degraded ? ' · DEGRADED' : mirror ? '' : ' · no mirror'}`;
    return [s('text', { x: 16, y: 136, class: 'card-line', text }), s('text', { x: 16, y: 162, class: 'card-line faint', text: copies })];
  }
  const copy = mirror?.id === id ? { ...mirror, kind: 'mirror' } : replicas.find((r) => r.id === id);
  const lines = [];
  if (node.role === 'mirror') {
    const mirrorState = copy?.state ?? node.mirror?.state ?? 'disconnected';
    lines.push(s('text', { x: 16, y: 136, class: 'card-line strong', fill: MIRROR_STATE_COLOURS[mirrorState] ?? colours.ink, text: `${mirrorState} · ${copy?.mode ?? node.mirror?.mode ?? ''}` }));
  } else {
    const where = [node.region ? `region ${node.region}` : 'no region', copy?.mode, node.filter ? `filter ${node.filter}` : null].filter(Boolean).join(' · ');
    lines.push(s('text', { x: 16, y: 136, class: 'card-line', text: where }));
  }
  lines.push(lagBar(copy));
  return lines;
}

function lagBar(copy) {
  const group = s('g', { class: 'lag', transform: 'translate(16 144)' });
  if (!copy || copy.connected === false || (copy.kind === 'mirror' && copy.state === 'disconnected')) {
    group.append(s('text', { x: 0, y: 18, class: 'card-line faint', text: 'lag: not connected' }));
    return group;
  }
  const ms = copy.lagMs ?? 0;
  const entries = copy.lagEntries ?? 0;
  const share = Math.min(1, Math.log10(1 + ms) / Math.log10(1 + LAG_FULL_MS));
  const colour = ms < 100 ? colours.healthy : ms < 1000 ? colours.replication : colours.fault;
  group.append(
    s('rect', { x: 0, y: 4, width: 130, height: 16, rx: 4, fill: '#e4e4e4' }),
    s('rect', { x: 0, y: 4, width: Math.max(entries > 0 ? 4 : 0, 130 * share), height: 16, rx: 4, fill: colour, class: 'lag-fill' }),
    s('text', { x: 142, y: 18, class: 'card-line small', text: `lag ${fmtNumber(entries)} · ${fmtMs(ms)}` }));
  return group;
}

function badgeWidth(role) {
  return 26 + String(role || 'unknown').length * 12.5;
}

function roleBadge(role, x, y, faded = false) {
  const label = String(role || 'unknown').toUpperCase();
  return s('g', { class: 'role-badge', transform: `translate(${x} ${y})`, opacity: faded ? 0.45 : 1 },
    s('rect', { width: badgeWidth(role), height: 32, rx: 6, fill: roleColours[role] ?? colours.faint }),
    s('text', { x: badgeWidth(role) / 2, y: 23, 'text-anchor': 'middle', class: 'role-text', text: label }));
}

function statePill(live, right, y) {
  const text = live.state === 'alive' ? '● alive' : live.state === 'paused' ? '❚❚ paused' : '✕ DOWN';
  const fill = live.state === 'alive' ? colours.healthy : live.state === 'paused' ? '#5c5200' : colours.fault;
  return s('text', { x: right, y, 'text-anchor': 'end', class: 'state-pill', fill, text });
}

function shorten(text, max) {
  const value = String(text ?? '');
  return value.length > max ? `${value.slice(0, max - 1)}…` : value;
}
