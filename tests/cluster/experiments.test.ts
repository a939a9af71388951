// Goal: the workshop experiments (scripts/experiments/NN-*.sh) do what they say on a real cluster,
// run as participants run them: one after another on one cluster (each finds it as the one before
// left it: roles moved by failovers, a rolled-back node rejoined), then `npm run reset`, then all
// of them again (issue 12). bash and curl against a cluster started by the local launcher
// (`npm start`, i.e. scripts/start.ts) on a free port range (PORT_BASE) with its own data root
// (DATA_ROOT), killing and starting nodes with `npm run node --` and the same two settings, so it
// finds that launcher's socket. An experiment exits 0 only when what it demonstrates happened; its
// whole output is shown when it does not. 02-05 exercise control's fault injection and the
// failover machinery (SPEC §5, §6) through their public API only.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../scripts/lib/cluster-processes.ts';
import { launcherPlan, readLauncherSettings } from '../../scripts/lib/launcher-settings.ts';
import { defaultTopology, launcherTopology } from '../../shared/topology.ts';
import { getJson, startCluster, waitFor, type TestCluster } from '../helpers/cluster.ts';

// An experiment is meant to take well under 20 s; this bound only stops a hung one.
const EXPERIMENT_TIMEOUT_MS = 90_000;
const LAUNCHER_READY_TIMEOUT_MS = 30_000;
const LAUNCHER_STOP_TIMEOUT_MS = 20_000;
const OUTPUT_CHARS_MAX = 200_000;
const TEST_TIMEOUT_MS = 150_000;

// The environment variable naming each service's base URL in scripts/experiments/lib.sh.
function urlVariable(id: string): string {
  return id.toUpperCase().replace(/-/g, '_');
}

interface Launcher {
  portBase: number;
  dataRoot: string;
  urls: Record<string, string>;
  output: () => string;
  stop: () => Promise<void>;
}

// Consecutive free ports for PORT_BASE (the launcher wants a contiguous range, replica-3's included).
async function freePortBase(): Promise<number> {
  const span = Math.max(...launcherTopology.map((s) => s.port)) - Math.min(...launcherTopology.map((s) => s.port)) + 1;
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 35_000);
    const ports = Array.from({ length: span }, (_, i) => base + i);
    if ((await Promise.all(ports.map(portIsFree))).every(Boolean)) return base;
  }
  throw new Error(`found no ${launcherTopology.length} consecutive free ports in 50 attempts`);
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

function keepTail(text: string): string {
  return text.length > OUTPUT_CHARS_MAX ? text.slice(-OUTPUT_CHARS_MAX) : text;
}

// Starts `npm start`'s launcher and waits until every service answers and the copies are attached.
async function startLauncher(): Promise<Launcher> {
  const portBase = await freePortBase();
  const dataRoot = await mkdtemp(path.join(os.tmpdir(), 'mirrorlab-exp-'));
  const env = { ...process.env, PORT_BASE: String(portBase), DATA_ROOT: dataRoot, NO_COLOR: '1' };
  // The URLs the launcher itself derives from PORT_BASE.
  const settings = readLauncherSettings(env);
  if (!settings.ok) throw new Error(settings.problems.join('; '));
  const { urls } = launcherPlan(settings.settings);
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output = keepTail(output + chunk.toString())));
  child.stderr.on('data', (chunk: Buffer) => (output = keepTail(output + chunk.toString())));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stopOnExit = () => child.kill('SIGTERM');
  process.once('exit', stopOnExit);
  const launcher: Launcher = {
    portBase,
    dataRoot,
    urls,
    output: () => output,
    stop: async () => {
      process.removeListener('exit', stopOnExit);
      await stopProcess(child, exited);
      await rm(dataRoot, { recursive: true, force: true, maxRetries: 3 });
    },
  };
  try {
    await waitForCluster(urls, () => child.exitCode === null);
  } catch (error) {
    await launcher.stop();
    throw new Error(`${(error as Error).message}\n--- launcher output ---\n${output}`);
  }
  return launcher;
}

// SIGTERM: the launcher stops every service, then exits; SIGKILL only if it hangs.
async function stopProcess(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), LAUNCHER_STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

// Waits until every service answers, the mirror is synchronized and both replicas are connected;
// gives up at once when `isAlive` says whatever started the cluster has died.
async function waitForCluster(urls: Record<string, string>, isAlive: () => boolean = () => true): Promise<void> {
  const outcome = await waitFor(
    async () => {
      if (!isAlive()) return 'exited' as const;
      // The services `npm start` starts: replica-3 joins only on request.
      for (const spec of defaultTopology) if ((await getJson(`${urls[spec.id]}/health`, { timeoutMs: 1000 })).status !== 200) return null;
      const status = (await getJson(`${urls.primary}/status`, { timeoutMs: 1000 })).body;
      const connected = status.replicas?.filter((r: { connected: boolean }) => r.connected).length;
      return status.mirror?.state === 'synchronized' && connected === 2 ? ('ready' as const) : null;
    },
    { what: 'the cluster to be up, the mirror synchronized and both replicas connected', timeoutMs: LAUNCHER_READY_TIMEOUT_MS, intervalMs: 200 },
  );
  if (outcome === 'exited') throw new Error('the launcher exited before the cluster was up');
}

interface ExperimentRun {
  code: number | null;
  output: string;
}

// Runs one experiment script with bash, as a participant would; resolves when it ends.
function runExperiment(script: string, env: Record<string, string>): Promise<ExperimentRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [path.join('scripts/experiments', script)], {
      cwd: REPO_ROOT,
      // Each run keeps its output under EXPERIMENTS_OUT: a temp dir here, not the repository's .experiments/.
      env: { ...process.env, NO_COLOR: '1', EXPERIMENTS_OUT: path.join(os.tmpdir(), 'mirrorlab-experiments'), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output = keepTail(output + chunk.toString())));
    child.stderr.on('data', (chunk: Buffer) => (output = keepTail(output + chunk.toString())));
    const timer = setTimeout(() => {
      output += `\n[test] ${script} still running after ${EXPERIMENT_TIMEOUT_MS} ms: killed\n`;
      child.kill('SIGKILL');
    }, EXPERIMENT_TIMEOUT_MS);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

function urlEnv(urls: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(urls).map(([id, url]) => [urlVariable(id), url]));
}

let launcher: Launcher | null = null;
let cluster: TestCluster | null = null;

afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

afterAll(async () => {
  await launcher?.stop();
  launcher = null;
});

function launcherEnv(l: Launcher): Record<string, string> {
  return { ...urlEnv(l.urls), NODE_CMD: 'npm run --silent node --', PORT_BASE: String(l.portBase), DATA_ROOT: l.dataRoot };
}

// Runs the experiment on the shared launched cluster, as it stands after the ones before; on
// failure the message carries the experiment's output and the launcher's (every service's lines).
async function runInOrder(script: string): Promise<ExperimentRun> {
  launcher ??= await startLauncher();
  const started = Date.now();
  const run = await runExperiment(script, launcherEnv(launcher));
  const tookMs = Date.now() - started;
  const report = `${script} exited ${run.code} after ${tookMs} ms\n--- experiment output ---\n${run.output}\n--- launcher output (last lines) ---\n${launcher.output().split('\n').slice(-150).join('\n')}`;
  expect(run.code, report).toBe(0);
  console.info(`${script}: passed in ${tookMs} ms`);
  return run;
}

// `npm run reset`, as the workshop guide has participants run it between experiments.
function runReset(l: Launcher): Promise<ExperimentRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', 'reset'], {
      cwd: REPO_ROOT,
      env: { ...process.env, NO_COLOR: '1', CONTROL_URL: l.urls.control as string, PORT_BASE: String(l.portBase), DATA_ROOT: l.dataRoot },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output }));
  });
}

const EXPERIMENTS: Array<{ script: string; what: string; check?: (run: ExperimentRun) => void }> = [
  { script: '01-sync-vs-async.sh', what: 'the mirror acknowledges in sync mode, trails in async, a sync replica acknowledges', check: (run) => expect(run.output).toContain('copy modes restored') },
  { script: '02-replica-lag.sh', what: 'a slowed replica serves stale reads, minLsn waits for the write' },
  { script: '03-failover.sh', what: 'the mirror takes over after a kill -9 of the primary, no acknowledged write lost' },
  { script: '04-async-loss.sh', what: 'a forced failover onto a lagging replica reports and loses acknowledged writes' },
  { script: '05-split-brain.sh', what: 'the isolated primary fences itself, the mirror is promoted, the old primary rolls back' },
  // The default topology has no filtered replica: the experiment says so and goes on.
  { script: '06-read-scaling.sh', what: 'replicas serve reads by region, the mirror refuses, scans run on a replica', check: (run) => expect(run.output).toContain('no replica here has a filter') },
  { script: '07-wan-latency.sh', what: 'the WAN profile: a mirror across the ocean slows sync writes, not local ones; the near replica reads faster' },
  // Round 1 adds replica-3 (the launcher does not start it); round 2 finds it running and a member.
  { script: '08-add-a-copy.sh', what: 'replica-3 joins, catches up and serves reads; a second mirror is 409 mirror_slot_taken' },
  { script: '09-slow-copy.sh', what: 'a slowed sync mirror slows writes, a slowed async replica only trails, made sync it slows them again' },
  { script: '10-exact-vs-filtered.sh', what: 'verify: the mirror equals the whole digest, filtered replica-3 its prefix only; replica-3 restored', check: (run) => expect(run.output).toContain('replica-3 is a full copy again') },
];

// As participants run them: one cluster, the experiments in the README's order (each finds the
// cluster as the one before left it), a reset, and all of them again.
describe('workshop experiments in order on one cluster, a reset, and again', () => {
  for (const round of [1, 2]) {
    if (round === 2) {
      it('npm run reset brings the cluster back to its starting point', { timeout: TEST_TIMEOUT_MS }, async () => {
        const l = (launcher ??= await startLauncher());
        const reset = await runReset(l);
        expect(reset.code, reset.output).toBe(0);
        const view = (await getJson(`${l.urls.control}/cluster`)).body;
        expect(view.primary).toBe('primary');
        expect(view.nodes.primary.mirror).toMatchObject({ id: 'mirror', mode: 'sync', state: 'synchronized' });
        expect(view.faults).toEqual([]);
      });
    }
    for (const experiment of EXPERIMENTS) {
      it(`round ${round}: ${experiment.script} — ${experiment.what}`, { timeout: TEST_TIMEOUT_MS }, async () => {
        const run = await runInOrder(experiment.script);
        experiment.check?.(run);
      });
    }
  }
});

describe('workshop experiments on a cluster with a filtered replica', () => {
  it('06 read scaling: the filtered replica holds exactly the keys under its prefix', { timeout: TEST_TIMEOUT_MS }, async () => {
    cluster = await startCluster({ serviceEnv: { 'replica-2': { REPLICA_FILTER: 'exp6/us/' } } });
    const urls = Object.fromEntries(defaultTopology.map((s) => [s.id, (cluster as TestCluster).url(s.id)]));
    await waitForCluster(urls);
    // This experiment kills nothing; a NODE_CMD that fails makes sure of it.
    const run = await runExperiment('06-read-scaling.sh', { ...urlEnv(urls), NODE_CMD: 'false' });
    if (run.code !== 0) cluster.dumpLogs();
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain('replica-2 holds exactly the');
    expect(run.output).toContain('outside the filter, is not on replica-2 (404)');
  });
});
