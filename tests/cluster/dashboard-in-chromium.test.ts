// Goal: the dashboard at control's GET / shows the cluster live in a real headless Chromium (Debian's
// /usr/bin/chromium driven by playwright-core): the five processes render with their roles; a
// latency fault added through the API shows on its link within 2 s; a button injects a fault through
// the very API a curl user calls (GET /faults has it) and the load button drives real replication
// traffic into the message view; killing the primary shows the mirror as primary and the failover
// in the timeline; a control restart shows as unreachable, then the page reconnects by itself. The
// message view's labels never overlap, with load running and right after the failover. No page
// errors and no console errors throughout (bar the browser's own network errors while control is
// down). It takes two screenshots: the steady state with load running, and right after the failover.

import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteJson, getJson, startCluster, type TestCluster, waitFor } from '../helpers/cluster.ts';
import { defaultTopology } from '../../shared/topology.ts';
import { addFault } from '../helpers/faults.ts';
import { portIsFree } from '../../scripts/lib/free-ports.ts';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
// The docs' screenshots are refreshed on request (MIRRORLAB_SCREENSHOT=1), on the default ports so
// that the curl line under the buttons reads as a participant's would; a plain test run uses free
// ports, leaves the work tree clean and writes them to a temp dir.
const FOR_DOCS = process.env.MIRRORLAB_SCREENSHOT === '1';
const SCREENSHOT_DIR = FOR_DOCS ? fileURLToPath(new URL('../../docs/', import.meta.url)) : os.tmpdir();
const SCREENSHOTS = {
  steady: path.join(SCREENSHOT_DIR, FOR_DOCS ? 'dashboard-steady.png' : `mirrorlab-dashboard-steady-${process.pid}.png`),
  failover: path.join(SCREENSHOT_DIR, FOR_DOCS ? 'dashboard-failover.png' : `mirrorlab-dashboard-failover-${process.pid}.png`),
};
// .ci/run installs Debian's chromium; without it this test fails and says how to get it.
const BROWSER_MISSING = !existsSync(CHROMIUM);
// What the browser itself logs when a request to a stopped server fails: expected while control is down.
const NETWORK_ERROR = /net::ERR_|WebSocket connection to .* failed|Failed to load resource/;

let cluster: TestCluster | undefined;
let browser: BrowserContext | undefined;
let profileDir: string | undefined;

afterAll(async () => {
  await browser?.close();
  await cluster?.close();
  if (profileDir) await rm(profileDir, { recursive: true, force: true });
});

// The page's own state (main.js exposes it as window.mirrorlab for the console and for tests).
function pageState<T>(page: Page, read: string): Promise<T> {
  return page.evaluate(`(() => { const state = window.mirrorlab.state; return ${read}; })()`) as Promise<T>;
}

type LabelBox = { text: string; left: number; right: number; top: number; bottom: number };

// The message view's labels as last drawn: at least `min` of them, and no two overlapping.
async function expectLabelsApart(page: Page, min: number): Promise<void> {
  const boxes = await waitFor(async () => {
    const drawn = (await page.evaluate('window.mirrorlab.labels()')) as LabelBox[];
    return drawn.length >= min ? drawn : null;
  }, { what: `at least ${min} labels in the message view`, timeoutMs: 10_000 });
  const overlapping: string[] = [];
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const [a, b] = [boxes[i] as LabelBox, boxes[j] as LabelBox];
      if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) overlapping.push(`"${a.text}" and "${b.text}"`);
    }
  }
  expect(overlapping).toEqual([]);
}

// The default ports must be free for the docs' screenshots; say who holds them instead of timing out.
async function requireDefaultPortsFree(): Promise<void> {
  const busy: number[] = [];
  for (const { port } of defaultTopology) {
    if (!(await portIsFree(port))) busy.push(port);
  }
  if (busy.length > 0) throw new Error(`MIRRORLAB_SCREENSHOT=1 takes the screenshots on the default ports, and ${busy.join(', ')} are in use (a running cluster?)`);
}

describe('the dashboard in Chromium', () => {
  it('shows roles, faults on links, button-made faults, traffic, a failover and a control restart', async () => {
    if (BROWSER_MISSING) throw new Error(`no ${CHROMIUM}: install Debian's Chromium (apt-get install -y chromium), as .ci/run does`);
    if (FOR_DOCS) await requireDefaultPortsFree();
    const c = (cluster = await startCluster({ defaultPorts: FOR_DOCS }));
    const control = c.url('control');
    profileDir = await mkdtemp(path.join(os.tmpdir(), 'mirrorlab-chromium-'));
    browser = await chromium.launchPersistentContext(profileDir, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, viewport: { width: 1920, height: 1080 } });
    const page = browser.pages()[0] ?? (await browser.newPage());
    const problems: string[] = [];
    let controlDown = false;
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      if (controlDown && NETWORK_ERROR.test(message.text())) return;
      problems.push(`console error: ${message.text()}`);
    });
    try {
      await page.goto(control);

      // The five processes, each with its role.
      const roles = { control: 'witness', primary: 'primary', mirror: 'mirror', 'replica-1': 'replica', 'replica-2': 'replica' };
      for (const [id, role] of Object.entries(roles)) {
        await page.waitForSelector(`#topology [data-node="${id}"][data-role="${role}"][data-state="alive"]`, { timeout: 15_000 });
      }
      await page.waitForSelector('#connection[data-state="live"]');

      // The steady state with load running: every kind of data message on the wire, labels apart.
      await page.fill('#load-rate', '40');
      await page.click('#load-start');
      await page.waitForFunction(() => {
        const traffic = (window as unknown as { mirrorlab: { state: { traffic: Array<{ kind: string; at: number }> } } }).mirrorlab.state.traffic;
        const kinds = ['mirror-batch', 'mirror-ack', 'stream-entries', 'stream-ack'];
        const times = traffic.filter((r) => r.kind === 'stream-entries').map((r) => r.at);
        return kinds.every((kind) => traffic.some((r) => r.kind === kind)) && times.length > 0 && Math.max(...times) - Math.min(...times) >= 4000;
      }, undefined, { timeout: 20_000 });
      await waitFor(async () => pageState<boolean>(page, "state.series.writes.at(-1)?.value > 0 && state.cluster.nodes.primary?.mirror?.state === 'synchronized'"), { what: 'writes on the chart and the mirror synchronized', timeoutMs: 10_000 });
      await expectLabelsApart(page, 4);
      await mkdir(path.dirname(SCREENSHOTS.steady), { recursive: true });
      await page.screenshot({ path: SCREENSHOTS.steady });
      await deleteJson(`${control}/load`);

      // A fault added through the API is drawn on its link within 2 s.
      const latency = await addFault(c, 'latency', { from: 'primary', to: 'replica-1', ms: 300 });
      await page.waitForSelector(`.link-faults[data-link="primary|replica-1"] [data-fault="${latency.id}"]`, { timeout: 2000 });
      expect(await page.textContent(`[data-fault="${latency.id}"]`)).toContain('300 ms');
      await page.waitForSelector(`#timeline [data-type="fault-added"]`, { timeout: 2000 });

      // A button adds a fault through control's public API, and shows the curl command.
      await page.selectOption('#link-from', 'primary');
      await page.selectOption('#link-to', 'replica-2');
      await page.fill('#latency-ms', '150');
      await page.click('#add-latency');
      const clicked = await waitFor(async () => {
        const faults = (await getJson(`${control}/faults`)).body.faults as Array<{ id: string; kind: string; from: string; to: string; ms: number }>;
        return faults.find((f) => f.kind === 'latency' && f.from === 'primary' && f.to === 'replica-2' && f.ms === 150);
      }, { what: 'GET /faults to list the rule the button added', timeoutMs: 5000 });
      await page.waitForSelector(`.link-faults[data-link="primary|replica-2"] [data-fault="${clicked.id}"]`, { timeout: 2000 });
      expect(await page.textContent('#last-call')).toContain(`${control}/faults/latency`);

      // The load button starts control's generator; the message view receives the real traffic:
      // batches to the mirror and its acks, entries streamed to the replicas.
      await page.fill('#load-rate', '40');
      await page.click('#load-start');
      await waitFor(async () => {
        const load = (await getJson(`${control}/load`)).body;
        return load.running && load.acked >= 20;
      }, { what: 'the load generator to have 20 writes acknowledged', timeoutMs: 10_000 });
      await page.waitForFunction(() => {
        const traffic = (window as unknown as { mirrorlab: { state: { traffic: Array<{ kind: string; count: number }> } } }).mirrorlab.state.traffic;
        return ['mirror-batch', 'mirror-ack', 'stream-entries', 'stream-ack'].every((kind) => traffic.some((r) => r.kind === kind));
      }, undefined, { timeout: 10_000 });
      // Entries to replica-1 were held ~300 ms by the latency rule: the record says so.
      await page.waitForFunction(() => {
        const traffic = (window as unknown as { mirrorlab: { state: { traffic: Array<{ kind: string; to: string; delayMs: number }> } } }).mirrorlab.state.traffic;
        return traffic.some((r) => r.kind === 'stream-entries' && r.to === 'replica-1' && r.delayMs >= 250);
      }, undefined, { timeout: 10_000 });

      // Kill the primary: the synchronized mirror takes over, the page shows it and the failover.
      // The faults go first, so the picture shows the failover and nothing else.
      await deleteJson(`${control}/faults`);
      await page.waitForSelector('.link-faults [data-fault]', { state: 'detached', timeout: 5000 });
      await waitFor(async () => (await getJson(`${control}/witness`)).body.mirrorSynchronized === true, { what: 'the witness to know the mirror synchronized' });
      await c.kill('primary');
      await page.waitForSelector('#topology [data-node="mirror"][data-role="primary"]', { timeout: 15_000 });
      await page.waitForSelector('#topology [data-node="primary"][data-state="down"]', { timeout: 5000 });
      await page.waitForSelector('#timeline [data-type="failover-granted"]', { timeout: 5000 });
      expect(await page.textContent('#timeline [data-type="failover-granted"]')).toContain('mirror is primary at epoch 2');
      // The load follows the new primary; once it writes there, the picture is worth keeping.
      await waitFor(async () => pageState<boolean>(page, "state.load?.target === 'mirror' && state.series.writes.at(-1)?.value > 0"), { what: 'the load to write to the new primary', timeoutMs: 10_000 });
      // The message view shows the new primary's stream over most of its window (4 s).
      await page.waitForFunction(() => {
        const traffic = (window as unknown as { mirrorlab: { state: { traffic: Array<{ kind: string; from: string; at: number }> } } }).mirrorlab.state.traffic;
        const times = traffic.filter((r) => r.kind === 'stream-entries' && r.from === 'mirror').map((r) => r.at);
        return times.length > 0 && Math.max(...times) - Math.min(...times) >= 3000;
      }, undefined, { timeout: 15_000 });
      await expectLabelsApart(page, 2);
      await page.screenshot({ path: SCREENSHOTS.failover });

      // Control restarts: the page says it is unreachable, then comes back by itself.
      controlDown = true;
      await c.stop('control');
      await page.waitForSelector('#connection[data-state="down"]', { timeout: 10_000 });
      expect(await page.isVisible('#banner')).toBe(true);
      expect(await page.textContent('#banner')).toContain('unreachable');
      await c.start('control');
      await page.waitForSelector('#connection[data-state="live"]', { timeout: 15_000 });
      controlDown = false;
      await page.waitForSelector('#topology [data-node="mirror"][data-role="primary"][data-state="alive"]', { timeout: 5000 });
      expect(await page.isVisible('#banner')).toBe(false);

      expect(problems).toEqual([]);
    } catch (error) {
      c.dumpLogs();
      throw error;
    } finally {
      await deleteJson(`${control}/load`).catch(() => undefined);
    }
  });
});
