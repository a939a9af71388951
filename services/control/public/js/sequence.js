// @ts-check
// The message view: the last few seconds of real peer traffic as a sequence diagram. One lifeline
// per process (primary, mirror, replicas; control too when the witness channel is shown), time
// running down, one arrow per record the nodes reported (control coalesces bursts: "×12").
//
// An arrow leaves its sender when the sender handed the message to the link and reaches the
// receiver when the link let it go: a latency rule shows as a slanted arrow, a lost message as an
// arrow that stops half-way at a ✕. The view trails real time by BEHIND_MS, the time control
// needs to collect the records, so arrows scroll in smoothly instead of popping up.

import { fitCanvas } from './dom.js';
import { LabelLayout } from './label-layout.js';
import { colours, roleColours } from './palette.js';
import { liveness, roles, serverNow, state } from './state.js';

export const WINDOW_MS = 4000;
export const BEHIND_MS = 700;
const HEADER_PX = 62;
const FOOTER_PX = 26;
const SIDE_PX = 70;
// Arrows are never flat: even a sub-millisecond hop slants a little, so its head shows.
const SLANT_PX_MIN = 7;
const LABEL_FONT_PX = 15;
// Busy links are thinned for the eye: a kind of message on a link that would draw more arrows than
// this in the window is merged into that many time buckets (aligned to the clock, so arrows do
// not jitter as the view scrolls). Control already merged bursts within 100 ms.
const ARROWS_PER_KIND_MAX = 6;

// How each kind of message is drawn; `data` kinds are the subject of the view, the rest chatter.
function styleOf(kind) {
  if (kind === 'mirror-batch') return { colour: colours.mirroring, width: 3.5, data: true };
  if (kind === 'mirror-ack') return { colour: colours.mirroring, width: 2, dash: [7, 5], data: true };
  if (kind === 'stream-entries') return { colour: colours.replication, width: 3.5, data: true };
  if (kind === 'stream-ack') return { colour: '#9a6a00', width: 2, dash: [7, 5], data: true };
  if (kind.startsWith('witness-')) return { colour: colours.witness, width: 1.5, witness: true };
  if (kind.includes('heartbeat')) return { colour: colours.chatter, width: 1.5, chatter: true };
  return { colour: colours.witness, width: 2.5, data: true, named: true };
}

// The label of an arrow, longest first: the caller takes the first that fits between two lanes.
function labels(record, style) {
  const times = record.messages > 1 ? ` ×${record.messages}` : '';
  const from = record.fromLsn;
  const to = record.toLsn ?? from;
  const range = from === undefined ? '' : to !== from ? `${from}–${to}` : `${from}`;
  if (record.kind === 'mirror-batch' || record.kind === 'stream-entries') {
    // 12772–12779 → 12772–79: the digits the two ends share are said once.
    const common = to !== from ? commonPrefix(String(from), String(to)) : '';
    const short = to !== from ? `${from}–${String(to).slice(common.length)}` : range;
    return [`LSN ${range}${times}`, `${range}${times}`, short, ''];
  }
  if (record.kind.endsWith('ack') && range) return [`ack ${to}${times}`, `ack ${to}`, `${to}`, ''];
  if (style.named) return [`${record.kind}${times}`, record.kind, ''];
  return [''];
}

function commonPrefix(a, b) {
  let i = 0;
  while (i < a.length && a.length === b.length && a[i] === b[i]) i++;
  return a.slice(0, i);
}

// Lifelines, left to right: (control), the primary, its mirror, the replicas, anyone else.
function lanes(showChatter) {
  const { primary, mirror, replicas } = roles();
  const order = [];
  const add = (id) => {
    if (id && !order.includes(id)) order.push(id);
  };
  if (showChatter) add('control');
  add(primary);
  add(mirror?.id ?? state.nodeIds.find((id) => state.cluster.nodes[id]?.role === 'mirror'));
  // Replicas in PEERS order, not in the order they connected: lanes stay put across failovers.
  for (const id of state.nodeIds) if (replicas.some((r) => r.id === id)) add(id);
  for (const id of state.nodeIds) add(id);
  return order;
}

export function drawSequence(canvas, { showChatter }) {
  const { context: c, width, height } = fitCanvas(canvas);
  c.clearRect(0, 0, width, height);
  const ids = lanes(showChatter);
  const top = HEADER_PX;
  const bottom = height - FOOTER_PX;
  const span = (width - 2 * SIDE_PX) / Math.max(1, ids.length - 1);
  const laneX = new Map(ids.map((id, i) => [id, ids.length === 1 ? width / 2 : SIDE_PX + i * span]));
  const end = serverNow() - BEHIND_MS;
  const start = end - WINDOW_MS;
  const y = (t) => top + ((t - start) / WINDOW_MS) * (bottom - top);

  drawGrid(c, width, start, end, y);
  drawLifelines(c, ids, laneX, top, bottom);
  const drawn = drawArrows(c, { laneX, span, y, top, bottom, start, end, showChatter });
  if (drawn === 0) {
    c.font = '600 19px system-ui, sans-serif';
    c.fillStyle = colours.faint;
    c.textAlign = 'center';
    c.fillText('No entries on the wire right now.', width / 2, (top + bottom) / 2 - 12);
    c.font = '17px system-ui, sans-serif';
    c.fillText('Start the load generator (below) or write with curl.', width / 2, (top + bottom) / 2 + 16);
  }
  const dropped = state.trafficDropped.filter((d) => d.t > Date.now() - WINDOW_MS).reduce((sum, d) => sum + d.n, 0);
  c.font = '14px system-ui, sans-serif';
  c.textAlign = 'right';
  c.fillStyle = colours.faint;
  c.fillText(dropped > 0 ? `busy: ${dropped} records sampled out` : '', width - 4, height - 7);
}

function drawGrid(c, width, start, end, y) {
  c.font = '14px system-ui, sans-serif';
  c.textAlign = 'left';
  for (let t = Math.ceil(start / 1000) * 1000; t <= end; t += 1000) {
    const yy = y(t);
    c.strokeStyle = '#ececec';
    c.lineWidth = 1;
    c.beginPath();
    c.moveTo(0, yy);
    c.lineTo(width, yy);
    c.stroke();
    c.fillStyle = '#8a8a8a';
    c.fillText(`${((t - end - BEHIND_MS) / 1000).toFixed(0)} s`, 4, yy - 4);
  }
}

function drawLifelines(c, ids, laneX, top, bottom) {
  for (const id of ids) {
    const x = laneX.get(id);
    const role = id === 'control' ? 'witness' : (state.cluster.nodes[id]?.role ?? '');
    const alive = id === 'control' ? state.connection.state === 'live' : liveness(id).state === 'alive';
    c.textAlign = 'center';
    c.fillStyle = colours.ink;
    c.font = '700 19px system-ui, sans-serif';
    c.fillText(id, x, 24);
    c.font = '600 15px system-ui, sans-serif';
    c.fillStyle = alive ? (roleColours[role] ?? colours.faint) : colours.fault;
    c.fillText(alive ? role || '—' : 'down', x, 44);
    c.strokeStyle = alive ? '#9a9a9a' : '#d0d0d0';
    c.lineWidth = 2;
    c.setLineDash(alive ? [] : [4, 6]);
    c.beginPath();
    c.moveTo(x, top - 8);
    c.lineTo(x, bottom);
    c.stroke();
    c.setLineDash([]);
  }
}

// The labels drawn last, as boxes in canvas pixels: the dashboard test checks that none overlap.
export let placedLabels = [];

function drawArrows(c, { laneX, span, y, top, bottom, start, end, showChatter }) {
  let drawn = 0;
  const layout = new LabelLayout();
  const pending = [];
  c.save();
  c.beginPath();
  c.rect(0, top - 2, c.canvas.width, bottom - top + 4);
  c.clip();
  for (const record of thin(state.traffic, start, end)) {
    const at = record.at;
    if (at > end || at + record.delayMs < start - 1000) continue;
    const style = record.idle ? styleOf('idle-heartbeat') : styleOf(record.kind);
    if ((style.chatter || style.witness) && !showChatter) continue;
    const x1 = laneX.get(record.from);
    const x2 = laneX.get(record.to);
    if (x1 === undefined || x2 === undefined) continue;
    const y1 = y(at);
    let y2 = Math.max(y(at + record.delayMs), y1 + SLANT_PX_MIN);
    let xEnd = x2;
    if (record.lost) {
      // Half a lane from the sender: between two lifelines, never on a third one.
      xEnd = x1 + Math.sign(x2 - x1) * span * 0.5;
      y2 = y1 + (y2 - y1) * 0.5;
    }
    if (y1 > bottom || y2 < top) continue;
    arrow(c, x1, y1, xEnd, y2, record.lost ? { ...style, colour: colours.fault, dash: [3, 4] } : style, record.messages > 1);
    if (record.lost) cross(c, xEnd, y2);
    if (style.data) drawn++;
    pending.push({ record, style, x1, y1, xEnd, y2 });
  }
  // Labels after every arrow, newest first: the newest messages keep theirs when space runs out.
  placedLabels = [];
  for (const item of pending.reverse()) drawLabel(c, layout, item, { laneX, span, top, bottom });
  c.restore();
  return drawn;
}

// Labels sit beside the lifeline of the end that is not the primary (the copy the message goes to
// or comes from), on the primary's side: each copy's traffic is labelled in its own column instead
// of all of it piling up mid-way. The layout moves a label that would cover another, or drops it.
function drawLabel(c, layout, { record, style, x1, y1, xEnd, y2 }, { laneX, span, top, bottom }) {
  c.font = `${style.data ? 600 : 400} ${LABEL_FONT_PX}px system-ui, sans-serif`;
  const room = span - 18;
  const texts = labels(record, style)
    .map((t) => (record.lost ? `lost ${t || record.kind}` : t))
    .filter((t) => t !== '' && c.measureText(t).width <= room);
  if (texts.length === 0) return;
  const primaryX = laneX.get(roles().primary);
  const nearTo = record.from === roles().primary || primaryX === undefined;
  const anchorX = record.lost || nearTo ? xEnd : x1;
  const anchorY = nearTo ? y2 : y1;
  const towards = (primaryX ?? (nearTo ? x1 : xEnd)) < anchorX ? -1 : 1;
  const lx = anchorX + towards * 12;
  const align = towards < 0 ? 'right' : 'left';
  for (const text of texts) {
    const width = c.measureText(text).width;
    const ly = layout.place({ x: lx, y: anchorY - 5, width, height: LABEL_FONT_PX, align, minY: top + LABEL_FONT_PX, maxY: bottom - 2 });
    if (ly === null) continue;
    const box = LabelLayout.box(lx, ly, width, LABEL_FONT_PX, align);
    placedLabels.push({ text, ...box });
    // A light backing, so arrows passing behind a label do not strike it through.
    c.fillStyle = 'rgba(255, 255, 255, 0.85)';
    c.fillRect(box.left - 2, box.top, box.right - box.left + 4, box.bottom - box.top);
    c.textAlign = align;
    c.lineWidth = 4;
    c.strokeStyle = '#fff';
    c.strokeText(text, lx, ly);
    c.fillStyle = record.lost ? colours.fault : style.colour;
    c.fillText(text, lx, ly);
    return;
  }
}

// See ARROWS_PER_KIND_MAX. The decision looks at twice the window, so it does not flip back and
// forth while a busy stretch scrolls through.
function thin(records, start, end) {
  const groups = new Map();
  for (const r of records) {
    if (r.at < start - WINDOW_MS || r.at > end) continue;
    const key = `${r.from}>${r.to}>${r.kind}>${r.lost ? 1 : 0}>${r.idle ? 1 : 0}`;
    let list = groups.get(key);
    if (!list) groups.set(key, (list = []));
    list.push(r);
  }
  const out = [];
  const bucketMs = WINDOW_MS / ARROWS_PER_KIND_MAX;
  for (const list of groups.values()) {
    if (list.length <= 2 * ARROWS_PER_KIND_MAX) {
      out.push(...list);
      continue;
    }
    const buckets = new Map();
    for (const r of list) {
      const b = Math.floor(r.at / bucketMs);
      const m = buckets.get(b);
      if (!m) {
        buckets.set(b, { ...r, messages: r.messages ?? 1 });
        continue;
      }
      m.messages += r.messages ?? 1;
      m.count += r.count;
      m.bytes += r.bytes;
      m.delayMs = Math.max(m.delayMs, r.delayMs);
      if (r.fromLsn !== undefined) m.fromLsn = m.fromLsn === undefined ? r.fromLsn : Math.min(m.fromLsn, r.fromLsn);
      if (r.toLsn !== undefined) m.toLsn = m.toLsn === undefined ? r.toLsn : Math.max(m.toLsn, r.toLsn);
    }
    out.push(...buckets.values());
  }
  return out.sort((a, b) => a.at - b.at);
}

function arrow(c, x1, y1, x2, y2, style, heavy) {
  c.strokeStyle = style.colour;
  c.fillStyle = style.colour;
  c.lineWidth = style.width + (heavy ? 1.5 : 0);
  c.setLineDash(style.dash ?? []);
  c.beginPath();
  c.moveTo(x1, y1);
  c.lineTo(x2, y2);
  c.stroke();
  c.setLineDash([]);
  const angle = Math.atan2(y2 - y1, x2 - x1);
  const size = 7 + style.width;
  c.beginPath();
  c.moveTo(x2, y2);
  c.lineTo(x2 - size * Math.cos(angle - 0.4), y2 - size * Math.sin(angle - 0.4));
  c.lineTo(x2 - size * Math.cos(angle + 0.4), y2 - size * Math.sin(angle + 0.4));
  c.closePath();
  c.fill();
}

function cross(c, x, y) {
  c.strokeStyle = colours.fault;
  c.lineWidth = 4;
  c.beginPath();
  c.moveTo(x - 8, y - 8);
  c.lineTo(x + 8, y + 8);
  c.moveTo(x + 8, y - 8);
  c.lineTo(x - 8, y + 8);
  c.stroke();
}
