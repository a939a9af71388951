// Goal: the workshop experiments (scripts/experiments/NN-*.sh) do what they say on a real cluster,
// run as participants run them: one after another on one cluster (each finds it as the one before
// left it: roles moved by failovers, a rolled-back node rejoined), then `npm run reset`, then all
// of them again (issue 12). bash and curl against a cluster started by the local launcher
// (`npm start`, i.e. scripts/start.ts) on a free port range (PORT_BASE) with its own data root
// (DATA_ROOT), killing and starting nodes with `npm run node --` and the same two settings, so it
// finds that launcher's socket. An experiment exits 0 only when what it demonstrates happened; its
// whole output is shown when it does not. 02-05 exercise control's fault injection and the
// failover machinery (SPEC §5, §6) through their public API only.

import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../scripts/lib/cluster-processes.ts';
import { keepTail, launchCluster, waitForCluster, type LaunchedCluster } from '../../scripts/lib/launched-cluster.ts';
import { defaultTopology } from '../../shared/topology.ts';
import { getJson, startCluster, type TestCluster } from '../helpers/cluster.ts';

// An experiment is meant to take well under 20 s; this bound only stops a hung one.
const EXPERIMENT_TIMEOUT_MS = 90_000;
const TEST_TIMEOUT_MS = 150_000;

// The environment variable naming each service's base URL in scripts/experiments/lib.sh.
function urlVariable(id: string): string {
  return id.toUpperCase().replace(/-/g, '_');
}

type Launcher = LaunchedCluster;
const startLauncher = () => launchCluster();

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
