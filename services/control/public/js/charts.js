// @ts-check
// Rolling charts of the last minute: writes per second on the primary, write latency per ack level
// (the median the primary measured over the last second, from its /status), and each copy's lag.
// Latency and lag span milliseconds to seconds, so they use a log scale.

import { fitCanvas, fmtMs, fmtNumber } from './dom.js';
import { ackColours, colours, nodeColours, seriesColours } from './palette.js';
import { CHART_WINDOW_MS, state } from './state.js';

const PAD = { left: 62, right: 14, top: 52, bottom: 22 };
const STALE_MS = 2000;

export function drawCharts({ writes, latency, lag }) {
  const now = Date.now();
  const load = state.load?.running ? state.load : null;
  drawChart(writes, {
    now,
    title: 'writes / s (primary)',
    series: [{ name: 'acknowledged', colour: colours.ink, points: state.series.writes }],
    reference: load ? { value: load.rate, name: `load ${load.rate}/s` } : null,
    format: fmtNumber,
  });
  const levels = [...state.series.latency.keys()].sort();
  drawChart(latency, {
    now,
    title: 'write latency p50, per ack level',
    series: levels.map((level, i) => ({ name: `ack=${level}`, colour: ackColours[level] ?? seriesColours[(i + 3) % seriesColours.length], points: state.series.latency.get(level) })),
    log: true,
    format: fmtMs,
    empty: 'no writes in the last minute',
  });
  // One colour per node, kept across failovers, so a line does not change colour with its role.
  const copies = [...state.series.lag.keys()].sort((a, b) => state.nodeIds.indexOf(a) - state.nodeIds.indexOf(b));
  drawChart(lag, {
    now,
    title: 'replication lag per copy',
    series: copies.map((id) => ({ name: id, colour: nodeColours[Math.max(0, state.nodeIds.indexOf(id)) % nodeColours.length], points: state.series.lag.get(id) })),
    log: true,
    format: fmtMs,
    empty: 'no copies connected',
  });
}

function drawChart(canvas, { now, title, series, log = false, reference = null, format, empty = '' }) {
  const { context: c, width, height } = fitCanvas(canvas);
  c.clearRect(0, 0, width, height);
  const x0 = PAD.left;
  const x1 = width - PAD.right;
  const y0 = height - PAD.bottom;
  const y1 = PAD.top;
  const values = series.flatMap((s) => s.points.map((p) => p.value)).filter((v) => typeof v === 'number');
  if (reference) values.push(reference.value);
  const { min, max, ticks } = log ? logScale(values) : linearScale(values);
  const x = (t) => x0 + ((t - (now - CHART_WINDOW_MS)) / CHART_WINDOW_MS) * (x1 - x0);
  const y = (v) => {
    const share = log ? (Math.log10(Math.max(v, min)) - Math.log10(min)) / (Math.log10(max) - Math.log10(min)) : (v - min) / (max - min || 1);
    return y0 - Math.min(1, Math.max(0, share)) * (y0 - y1);
  };

  // Axes and ticks.
  c.font = '14px system-ui, sans-serif';
  c.textAlign = 'right';
  for (const tick of ticks) {
    c.strokeStyle = '#ececec';
    c.lineWidth = 1;
    c.beginPath();
    c.moveTo(x0, y(tick));
    c.lineTo(x1, y(tick));
    c.stroke();
    c.fillStyle = '#777';
    c.fillText(format(tick), x0 - 6, y(tick) + 5);
  }
  c.textAlign = 'center';
  for (let s = 0; s <= 60; s += 15) c.fillText(s === 0 ? 'now' : `−${s} s`, x(now - s * 1000), height - 4);

  if (reference) {
    c.strokeStyle = colours.faint;
    c.setLineDash([5, 5]);
    c.beginPath();
    c.moveTo(x0, y(reference.value));
    c.lineTo(x1, y(reference.value));
    c.stroke();
    c.setLineDash([]);
  }
  for (const s of series) line(c, s, x, y);

  // Title, and under it a legend with the latest values.
  c.textAlign = 'left';
  c.font = '700 16px system-ui, sans-serif';
  c.fillStyle = colours.ink;
  c.fillText(title, 6, 18);
  let lx = 8;
  c.font = '600 15px system-ui, sans-serif';
  const entries = series.map((s) => ({ colour: s.colour, text: `${s.name} ${format(lastValue(s.points, now))}` }));
  if (reference) entries.push({ colour: colours.faint, text: reference.name });
  if (entries.length === 0 && empty) entries.push({ colour: colours.faint, text: empty });
  // The legend keeps to one line: a smaller font when the series are many.
  for (let size = 15; size >= 11; size--) {
    c.font = `600 ${size}px system-ui, sans-serif`;
    if (entries.reduce((sum, e) => sum + 34 + c.measureText(e.text).width, 8) <= width) break;
  }
  for (const entry of entries) {
    c.fillStyle = entry.colour;
    c.fillRect(lx, 30, 14, 12);
    c.fillText(entry.text, lx + 18, 41);
    lx += 18 + c.measureText(entry.text).width + 16;
  }
}

function line(c, s, x, y) {
  c.strokeStyle = s.colour;
  c.lineWidth = 3;
  c.lineJoin = 'round';
  c.beginPath();
  let open = false;
  for (const p of s.points) {
    if (typeof p.value !== 'number') {
      open = false;
      continue;
    }
    if (open) c.lineTo(x(p.t), y(p.value));
    else c.moveTo(x(p.t), y(p.value));
    open = true;
  }
  c.stroke();
}

// The latest value, if it is recent: a copy that is gone (now the primary, or down) shows "—".
function lastValue(points, now) {
  const last = points.at(-1);
  if (!last || now - last.t > STALE_MS || typeof last.value !== 'number') return undefined;
  return last.value;
}

function linearScale(values) {
  const top = Math.max(10, ...values);
  const step = niceStep(top / 4);
  const max = Math.ceil(top / step) * step;
  const ticks = [];
  for (let v = 0; v <= max; v += step) ticks.push(v);
  return { min: 0, max, ticks };
}

function niceStep(raw) {
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

// Powers of ten from below the smallest value (at least 0.1) to above the largest (at least 100).
function logScale(values) {
  const positive = values.filter((v) => v > 0);
  const low = Math.min(1, ...positive);
  const high = Math.max(100, ...positive);
  const min = 10 ** Math.floor(Math.log10(Math.max(0.1, low)));
  const max = 10 ** Math.ceil(Math.log10(high));
  const ticks = [];
  for (let v = min; v <= max; v *= 10) ticks.push(v);
  return { min, max, ticks };
}
