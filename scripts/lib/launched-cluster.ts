// A whole cluster started the way a participant starts it: `npm start` (scripts/start.ts) as a
// child process, on a port range of its own (PORT_BASE) with its own data root (DATA_ROOT), so
// `npm run node --` and `npm run reset` given the same two settings find its socket. Used by the
// experiments test and by the docs capture (scripts/docs/capture.ts).

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { defaultTopology, launcherTopology } from '../../shared/topology.ts';
import { REPO_ROOT } from './cluster-processes.ts';
import { launcherPlan, readLauncherSettings } from './launcher-settings.ts';
import { portIsFree } from './free-ports.ts';
import { tryGetJson } from './json-http.ts';

export const launchedClusterLimits = {
  readyTimeoutMs: 30_000,
  stopTimeoutMs: 20_000,
  outputCharsMax: 200_000,
  portAttemptsMax: 50,
} as const;

export interface LaunchedCluster {
  portBase: number;
  dataRoot: string;
  urls: Record<string, string>;
  // What the launcher printed (every service's lines), the last outputCharsMax characters.
  output: () => string;
  // The settings `npm run node --` and `npm run reset` need to reach this cluster.
  env: () => Record<string, string>;
  stop: () => Promise<void>;
}

export function keepTail(text: string, charsMax: number = launchedClusterLimits.outputCharsMax): string {
  return text.length > charsMax ? text.slice(-charsMax) : text;
}

// Consecutive free ports for PORT_BASE (the launcher wants a contiguous range, replica-3's included).
export async function freePortBase(): Promise<number> {
  const span = Math.max(...launcherTopology.map((s) => s.port)) - Math.min(...launcherTopology.map((s) => s.port)) + 1;
  for (let attempt = 0; attempt < launchedClusterLimits.portAttemptsMax; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 35_000);
    const ports = Array.from({ length: span }, (_, i) => base + i);
    if ((await Promise.all(ports.map((port) => portIsFree(port)))).every(Boolean)) return base;
  }
  throw new Error(`found no ${span} consecutive free ports in ${launchedClusterLimits.portAttemptsMax} attempts`);
}


// Starts `npm start`'s launcher and waits until every service answers and the copies are attached.
// `portBase` defaults to a free range; the data root is a fresh temp dir, removed by stop().
export async function launchCluster(options: { portBase?: number; env?: Record<string, string> } = {}): Promise<LaunchedCluster> {
  const portBase = options.portBase ?? (await freePortBase());
  const dataRoot = await mkdtemp(path.join(os.tmpdir(), 'mirrorlab-launch-'));
  const env = { ...process.env, ...options.env, PORT_BASE: String(portBase), DATA_ROOT: dataRoot, NO_COLOR: '1' };
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
  const cluster: LaunchedCluster = {
    portBase,
    dataRoot,
    urls,
    output: () => output,
    env: () => ({ PORT_BASE: String(portBase), DATA_ROOT: dataRoot }),
    stop: async () => {
      process.removeListener('exit', stopOnExit);
      await stopProcess(child, exited);
      await rm(dataRoot, { recursive: true, force: true, maxRetries: 3 });
    },
  };
  try {
    await waitForCluster(urls, () => child.exitCode === null);
  } catch (error) {
    await cluster.stop();
    throw new Error(`${(error as Error).message}\n--- launcher output ---\n${output}`);
  }
  return cluster;
}

// SIGTERM: the launcher stops every service, then exits; SIGKILL only if it hangs.
async function stopProcess(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), launchedClusterLimits.stopTimeoutMs);
  await exited;
  clearTimeout(timer);
}

// Polls never throw: a node that does not answer is status 0.
const getJson = (url: string) => tryGetJson(url, 1000);

// Waits until every service `npm start` starts answers, the mirror is synchronized and both replicas
// are connected; gives up at once when `isAlive` says whatever started the cluster has died.
export async function waitForCluster(urls: Record<string, string>, isAlive: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + launchedClusterLimits.readyTimeoutMs;
  let last = 'nothing answered yet';
  while (Date.now() < deadline) {
    if (!isAlive()) throw new Error('the launcher exited before the cluster was up');
    const down: string[] = [];
    for (const spec of defaultTopology) if ((await getJson(`${urls[spec.id]}/health`)).status !== 200) down.push(spec.id);
    if (down.length === 0) {
      const status = (await getJson(`${urls.primary}/status`)).body;
      const connected = status?.replicas?.filter((r: { connected: boolean }) => r.connected).length;
      if (status?.mirror?.state === 'synchronized' && connected === 2) return;
      last = `mirror ${status?.mirror?.state ?? '?'}, ${connected ?? 0} replicas connected`;
    } else {
      last = `not answering: ${down.join(', ')}`;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`the cluster was not up (mirror synchronized, both replicas connected) within ${launchedClusterLimits.readyTimeoutMs} ms: ${last}`);
}
