// @ts-check
// The buttons. Each calls control's public API exactly as a curl user would, and the box under the
// buttons shows that very curl command and what control answered, so a workshop can repeat any
// click from a terminal. The page never talks to the data nodes.

import { $, fmtNumber, h } from './dom.js';
import { rulesOnLink } from './fault-rules.js';
import { roles, state } from './state.js';

const PAUSE_MS = 3000;

function curlOf(method, path, body) {
  const parts = ['curl -s'];
  if (method !== 'GET') parts.push(`-X ${method}`);
  if (body !== undefined) parts.push(`-H 'content-type: application/json' -d '${JSON.stringify(body)}'`);
  parts.push(`${location.origin}${path}`);
  return parts.join(' ');
}

function summarize(status, body) {
  if (body && typeof body === 'object') {
    if (body.error) return `${status} ${body.error}: ${body.message}`;
    if (body.description) return `${status} ${body.id}: ${body.description}`;
    if (body.forced || body.planned) return `${status} ${body.to} is primary at epoch ${body.epoch}${body.lostWrites !== undefined ? `, ${body.lostWrites} entries lost` : ''}`;
    if ('running' in body) return `${status} load ${body.running ? `running ${body.rate}/s ack=${body.ack}` : `stopped: ${body.acked} acknowledged, ${body.failed} failed`}`;
  }
  return `${status} ${JSON.stringify(body).slice(0, 160)}`;
}

// Calls the API, shows the curl command and the answer; resolves with {status, body}.
async function api(method, path, body) {
  const box = $('last-call');
  const command = curlOf(method, path, body);
  box.replaceChildren(h('code', { class: 'curl', text: `$ ${command}` }), h('span', { class: 'answer pending', text: '…' }));
  try {
    const response = await fetch(path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await response.text();
    let parsed = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: shown as text
    }
    const ok = response.status < 400;
    box.replaceChildren(h('code', { class: 'curl', text: `$ ${command}` }), h('span', { class: `answer ${ok ? 'ok' : 'error'}`, text: `→ ${summarize(response.status, parsed)}` }));
    return { status: response.status, body: parsed };
  } catch (error) {
    box.replaceChildren(h('code', { class: 'curl', text: `$ ${command}` }), h('span', { class: 'answer error', text: `→ no answer: ${error.message}` }));
    return { status: 0, body: null };
  }
}

function note(text, ok = false) {
  $('last-call').replaceChildren(h('span', { class: `answer ${ok ? 'ok' : 'error'}`, text }));
}

function link() {
  return { from: $('link-from').value, to: $('link-to').value, bidirectional: $('link-both').checked };
}

const actions = {
  'add-latency': () => {
    const ms = Number($('latency-ms').value);
    return api('POST', '/faults/latency', { ...link(), ms, jitterMs: Math.round(ms / 10) });
  },
  'add-loss': () => api('POST', '/faults/loss', { ...link(), rate: Number($('loss-pct').value) / 100 }),
  'partition-link': () => api('POST', '/faults/partition', { ...link(), bidirectional: true, mode: 'drop' }),
  'heal-link': async () => {
    const { from, to } = link();
    const found = rulesOnLink([...state.faults.values()], from, to);
    if (found.length === 0) return note(`no fault acts between ${from} and ${to}`);
    for (const { rule } of found) await api('DELETE', `/faults/${rule.id}`);
  },
  'heal-all': () => api('DELETE', '/faults'),
  pause: () => api('POST', `/nodes/${$('node-target').value}/pause`, { ms: PAUSE_MS }),
  crash: () => api('POST', `/nodes/${$('node-target').value}/crash`),
  isolate: () => api('POST', '/faults/partition', { isolate: $('node-target').value, mode: 'drop' }),
  'set-mode': () => api('PUT', '/cluster/modes', { [$('copy-target').value]: $('copy-mode').value }),
  'planned-failover': () => {
    const { mirror } = roles();
    if (!mirror) return note('there is no mirror to hand over to right now');
    return api('POST', '/cluster/failover', { to: mirror.id });
  },
  'forced-failover': () => api('POST', '/cluster/failover', { to: $('copy-target').value, force: true }),
  'load-start': () => api('POST', '/load', { rate: Number($('load-rate').value), ack: $('load-ack').value }),
  'load-stop': () => api('DELETE', '/load'),
};

export function installControls() {
  for (const select of document.querySelectorAll('#controls-panel select')) {
    if (!(select instanceof HTMLSelectElement)) continue;
    select.addEventListener('change', () => {
      select.dataset.chosen = 'yes';
      refreshControls();
    });
  }
  for (const button of document.querySelectorAll('button[data-action]')) {
    if (!(button instanceof HTMLButtonElement)) continue;
    button.addEventListener('click', async () => {
      const action = actions[button.dataset.action];
      if (!action) return;
      button.disabled = true;
      try {
        await action();
      } finally {
        button.disabled = false;
      }
    });
  }
}

// The topology's clicks fill the forms.
export function selectLink(a, b) {
  const primaryFirst = b === roles().primary || a === 'control' ? [b, a] : [a, b];
  choose($('link-from'), primaryFirst[0]);
  choose($('link-to'), primaryFirst[1]);
  $('link-from').closest('.group')?.classList.add('flash');
  setTimeout(() => $('link-from').closest('.group')?.classList.remove('flash'), 600);
}

export function selectNode(id) {
  choose($('node-target'), id);
  if ([...$('copy-target').options].some((o) => o.value === id)) choose($('copy-target'), id);
}

// Keeps the selects in step with the cluster (nodes, which copies exist) and the labels with the
// roles; keeps what the user chose where it still exists.
export function refreshControls() {
  const { primary, mirror, replicas } = roles();
  const ids = state.nodeIds;
  fill($('link-from'), ['control', ...ids], primary ?? ids[0]);
  fill($('link-to'), ['control', ...ids], replicas[0]?.id ?? ids[2]);
  fill($('node-target'), ids, primary ?? ids[0]);
  fill($('copy-target'), ids.filter((id) => id !== primary), mirror?.id ?? ids[1]);
  $('planned-failover').textContent = mirror ? `Planned failover → ${mirror.id}` : 'Planned failover (no mirror)';
  $('forced-failover').textContent = `Forced failover → ${$('copy-target').value || '…'}`;
  renderLoad();
}

// Until the user picks a value (or clicks the topology), a select follows the roles: the link
// controls aim at the primary and its first replica, the node controls at the primary.
function fill(select, values, preferred) {
  const current = [...select.options].map((o) => o.value);
  const keep = select.value;
  if (current.join('|') !== values.join('|')) select.replaceChildren(...values.map((v) => h('option', { value: v, text: v })));
  const chosen = select.dataset.chosen === 'yes' && values.includes(keep);
  select.value = chosen ? keep : values.includes(preferred) ? preferred : (values[0] ?? '');
}

function choose(select, value) {
  select.value = value;
  select.dataset.chosen = 'yes';
}

export function renderLoad() {
  const load = state.load;
  const box = $('load-status');
  if (!load) {
    box.textContent = 'idle';
    box.className = 'load-idle';
    return;
  }
  box.className = load.running ? 'load-running' : 'load-idle';
  box.textContent = load.running
    ? `running ${load.rate}/s ack=${load.ack}${load.target ? ` → ${load.target}` : ''} · ${fmtNumber(load.acked ?? 0)} acked · ${fmtNumber(load.failed ?? 0)} failed`
    : `idle${load.acked !== undefined ? ` (last run: ${fmtNumber(load.acked)} acked, ${fmtNumber(load.failed ?? 0)} failed)` : ''}`;
}

export { actions };
