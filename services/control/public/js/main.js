// @ts-check
// The dashboard's entry: connects to control's event stream, folds every event into the page's
// state, and redraws what changed, at most once per animation frame. The message view scrolls
// continuously, so it redraws every frame (capped at SEQUENCE_FPS).

import { drawCharts } from './charts.js';
import { installControls, refreshControls, renderLoad, selectLink, selectNode } from './controls.js';
import { $, fmtMs, fmtNumber, fmtTime } from './dom.js';
import { connectEvents } from './event-stream.js';
import { drawSequence, placedLabels } from './sequence.js';
import { apply, liveness, reset, state, writesPerSecond } from './state.js';
import { renderTimeline } from './timeline.js';
import { renderTopology } from './topology.js';

const SEQUENCE_FPS = 30;

const dirty = { topology: true, charts: true, timeline: true, load: true };
let lastSequenceMs = 0;

function ask(redraw) {
  for (const [view, yes] of Object.entries(redraw)) if (yes) dirty[view] = true;
}

function frame(nowMs) {
  requestAnimationFrame(frame);
  if (dirty.topology) {
    dirty.topology = false;
    renderTopology($('topology'));
    refreshControls();
    renderSummary();
  }
  if (dirty.charts) {
    dirty.charts = false;
    drawCharts({ writes: $('chart-writes'), latency: $('chart-latency'), lag: $('chart-lag') });
  }
  if (dirty.timeline) {
    dirty.timeline = false;
    renderTimeline($('timeline'));
  }
  if (dirty.load) {
    dirty.load = false;
    renderLoad();
  }
  if (nowMs - lastSequenceMs >= 1000 / SEQUENCE_FPS) {
    lastSequenceMs = nowMs;
    drawSequence($('sequence'), { showChatter: $('show-chatter').checked });
  }
}

function renderSummary() {
  const { primary, epoch } = state.cluster;
  $('sum-primary').textContent = primary ?? 'none';
  $('sum-epoch').textContent = String(epoch);
  $('sum-rate').textContent = fmtNumber(writesPerSecond());
  $('sum-faults').textContent = String(state.faults.size);
  const down = state.nodeIds.filter((id) => liveness(id).state !== 'alive');
  $('sum-down').textContent = down.length > 0 ? `not answering: ${down.join(', ')}` : '';
  $('summary').dataset.primary = primary ?? '';
}

// The connection badge in the header and the banner when control is unreachable.
function renderConnection() {
  const c = state.connection;
  const badge = $('connection');
  badge.dataset.state = c.state;
  const banner = $('banner');
  document.body.classList.toggle('control-down', c.state === 'down');
  if (c.state === 'live') {
    badge.textContent = '● live';
    banner.hidden = true;
    return;
  }
  if (c.state === 'connecting' || c.state === 'reconnecting') {
    badge.textContent = c.state === 'connecting' ? '◌ connecting…' : '◌ reconnecting…';
    return;
  }
  const leftMs = Math.max(0, c.retryAtMs - Date.now());
  badge.textContent = '✕ control unreachable';
  banner.hidden = false;
  const seen = c.lastEventAtMs ? `What you see is from ${fmtTime(c.lastEventAtMs)}. ` : '';
  banner.textContent = `Control (${location.host}) is unreachable: ${c.error}. ${seen}Retrying in ${fmtMs(leftMs)} (attempt ${c.attempt}).`;
}

// For the browser console and the Chromium test: the page's state, read-only by convention, and
// the message view's labels as last drawn (boxes in canvas pixels).
/** @type {any} */ (window).mirrorlab = { state, labels: () => placedLabels };

installControls();
// One listener on the SVG: its elements are redrawn four times a second (see topology.js).
$('topology').addEventListener('pointerdown', (event) => {
  const target = event.target instanceof Element ? event.target : null;
  const node = /** @type {HTMLElement | null | undefined} */ (target?.closest('[data-node]'));
  if (node && node.dataset.node !== 'control') return selectNode(node.dataset.node);
  const link = /** @type {HTMLElement | null | undefined} */ (target?.closest('[data-link]'));
  if (link) selectLink(...link.dataset.link.split('|'));
});
$('show-chatter').addEventListener('change', () => {
  lastSequenceMs = 0;
});
connectEvents({
  onReset: (snapshot) => {
    reset(snapshot);
    ask({ topology: true, charts: true, timeline: true, load: true });
  },
  onEvent: (event) => ask(apply(event)),
  onState: (connection) => {
    Object.assign(state.connection, connection);
    renderConnection();
    ask({ topology: true });
  },
});
// The retry countdown and pause countdowns tick even when no event arrives.
setInterval(() => {
  if (state.connection.state !== 'live') renderConnection();
  if (state.pausedUntil.size > 0) ask({ topology: true });
}, 250);
requestAnimationFrame(frame);
