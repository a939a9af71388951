// @ts-check
// The timeline: every recorded event, newest on top, with its time and a sentence. Categories
// (colour and a symbol) group what matters in a workshop: faults, failovers and roles, data
// movement (resyncs, rollbacks), reachability.

import { fmtTime, h } from './dom.js';
import { state } from './state.js';

/** @type {Array<[string, RegExp, string]>} */
const CATEGORIES = [
  ['failover', /^(failover-|primary-suspected|role-change|epoch-change|mirror-assigned)/, '⇄'],
  ['rollback', /^rollback/, '↶'],
  ['fault', /^(fault|faults-|node-paused|node-crashed)/, '⚡'],
  ['mirror', /^(mirror-|resync-|mode-change)/, '≡'],
  ['reach', /^node-(un)?reachable/, '◌'],
  ['load', /^load-/, '▶'],
];

/** @param {string} type */
function category(type) {
  for (const [name, pattern, symbol] of CATEGORIES) if (pattern.test(type)) return { name, symbol };
  return { name: 'other', symbol: '·' };
}

// Types whose sentence already starts with the node it is about.
const OWN_SUBJECT = new Set(['faults-resent', 'node-paused', 'node-crashed', 'node-reachable', 'node-unreachable']);

const list = (items) => (Array.isArray(items) ? items.join(', ') : '');

// One sentence per event type; unknown types show their fields.
// The node that reported it (nodeId) is shown apart, in bold, before the sentence.
export function describeEvent(e) {
  switch (e.type) {
    case 'fault-added':
      return `fault ${e.fault?.id}: ${e.fault?.description}`;
    case 'fault-removed':
      return `fault ${e.fault?.id} removed (${e.fault?.description})`;
    case 'faults-cleared':
      return `all faults healed (${e.faults?.length ?? 0} removed)`;
    case 'fault-profile':
      return `${e.profile} profile: ${Object.entries(e.regions ?? {}).map(([id, region]) => `${id} ${region}`).join(', ')} (${e.added?.length ?? 0} rules${e.removed?.length ? `, ${e.removed.length} replaced` : ''})`;
    case 'member-joined':
      return `joined the cluster at ${e.url}${e.region ? ` (region ${e.region})` : ''}`;
    case 'reset-started':
      return 'reset: back to the starting point';
    case 'reset-finished':
      return e.ok ? `reset done in ${e.tookMs} ms (${list(e.steps)})` : `reset incomplete: ${(e.todo ?? []).map((t) => `${t.what} → ${t.command}`).join('; ')}`;
    case 'faults-resent':
      return `${e.nodeId} got the fault table again (${e.rules} rules)`;
    case 'node-paused':
      return `${e.nodeId} paused for ${e.ms} ms`;
    case 'node-crashed':
      return `${e.nodeId} crashed (kill -9 of itself)`;
    case 'node-reachable':
      return `${e.nodeId} answers (${e.role}, epoch ${e.epoch})`;
    case 'node-unreachable':
      return `${e.nodeId} unreachable: ${e.error}`;
    case 'mode-change':
      return `${e.copy}: copy mode ${e.from} → ${e.to}`;
    case 'role-change':
      return `became ${e.role} at epoch ${e.epoch} — ${e.reason}`;
    case 'epoch-change':
      return `now at epoch ${e.epoch}; the primary is ${e.primary}`;
    case 'mirror-state':
      return `its mirror (${e.mirror ?? 'none'}) is ${e.to}, was ${e.from}${e.reason ? `: ${e.reason}` : ''}`;
    case 'mirror-assigned':
      return `witness: ${e.node} takes the mirror slot of ${e.primary} (epoch ${e.epoch})${e.reason ? ` — ${e.reason}` : ''}`;
    case 'mirror-synchronized':
      return `witness: ${e.primary}'s mirror (${e.mirror}) is synchronized`;
    case 'mirror-released':
      return `witness: ${e.primary} may go on without its mirror (${e.mirror})`;
    case 'primary-suspected':
      return `no word from primary ${e.primary} for ${e.silenceMs} ms`;
    case 'failover-requested':
      return `${e.candidate} asks to take over (epoch ${e.epoch}, LSN ${e.lsn})`;
    case 'failover-refused':
      return `failover refused for ${e.candidate}: ${e.reason}`;
    case 'failover-granted': {
      const how = e.planned ? 'planned' : e.forced ? 'forced' : e.automatic ? 'automatic' : 'granted';
      const lost = e.forced && e.lostWrites !== undefined ? `, ${e.lostWrites} entries lost` : '';
      return `FAILOVER (${how}): ${e.to} is primary at epoch ${e.epoch}${e.from ? `, was ${e.from}` : ''}${lost}`;
    }
    case 'rollback':
      return `rolled back ${e.count} entries (LSN ${e.firstLsn}–${e.lastLsn}${e.keys?.length ? `, keys ${list(e.keys.slice(0, 4))}${e.keys.length > 4 ? '…' : ''}` : ''})`;
    case 'resync-started':
      return `resync of ${e.copy} started at LSN ${e.lsn}`;
    case 'resync-finished':
      return `resync of ${e.copy} finished at LSN ${e.lsn}`;
    case 'load-started':
      return `load generator: ${e.rate} writes/s, ack=${e.ack}, for ${e.seconds} s`;
    case 'load-stopped':
      return `load generator stopped (${e.reason}): ${e.acked} acknowledged, ${e.failed} failed, ${e.skipped} skipped`;
    default: {
      const { seq: _s, at: _a, type: _t, nodeSeq: _ns, nodeAt: _na, ...fields } = e;
      return `${JSON.stringify(fields).slice(0, 140)}`;
    }
  }
}

export function renderTimeline(list) {
  const items = state.timeline.map((e) => {
    const { name, symbol } = category(e.type);
    return h('li', { class: `event cat-${name}`, 'data-type': e.type, 'data-seq': e.seq },
      h('time', { datetime: e.at, text: fmtTime(Date.parse(e.at) - state.clockOffsetMs) }),
      h('span', { class: 'chip', text: `${symbol} ${e.type}` }),
      h('span', { class: 'what' }, e.nodeId && !OWN_SUBJECT.has(e.type) ? h('b', { class: 'who', text: `${e.nodeId} ` }) : null, describeEvent(e)));
  });
  if (items.length === 0) items.push(h('li', { class: 'event empty', text: 'Nothing has happened yet. Add a fault, pause a node, or kill the primary.' }));
  list.replaceChildren(...items);
}
