// Starts a real cluster for a test: the services as OS processes on free ports, each with its own
// data directory under a fresh temp root, through the same process manager as `npm start`. Faults
// go through the project's own link layer, never a mocked network. A failed test calls dumpLogs()
// to see what every process said.
//
// Restarts are off by default: a test that kills a node decides itself when it comes back.
// Set MIRRORLAB_ECHO_LOGS=1 to see every service's output live while a test runs.

import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import { ClusterProcesses } from '../../scripts/lib/cluster-processes.ts';
import { freePorts } from '../../scripts/lib/free-ports.ts';
import { formatLogLine } from '../../scripts/lib/log-line.ts';
import type { RestartPolicy } from '../../scripts/lib/restart-policy.ts';
import { defaultTopology, planCluster, type ClusterPlan, type ServiceSpec } from '../../shared/topology.ts';
import { getJson } from './http.ts';
import { waitFor } from './wait.ts';

export { getJson, putJson, postJson, deleteJson, requestJson } from './http.ts';
export { waitFor } from './wait.ts';

export interface StartClusterOptions {
  // The services to start (default: all of the topology). The plan always covers the whole
  // topology, so PEERS names every node and one not started is simply unreachable.
  services?: readonly string[];
  // Environment for every service, then per service id; both override the topology's.
  env?: Record<string, string>;
  serviceEnv?: Record<string, Record<string, string>>;
  // Default null: no automatic restarts.
  restartPolicy?: RestartPolicy | null;
  healthTimeoutMs?: number;
  stopTimeoutMs?: number;
  topology?: readonly ServiceSpec[];
  // The topology's own ports (7000–7005) instead of free ones: only for pictures that must show
  // what a participant sees (the dashboard screenshots); a test run never asks for them.
  defaultPorts?: boolean;
}

export interface TestCluster {
  readonly plan: ClusterPlan;
  readonly dataRoot: string;
  readonly processes: ClusterProcesses;
  url(id: string): string;
  // SIGKILL; resolves once the process has exited.
  kill(id: string): Promise<void>;
  // SIGTERM (SIGKILL after stopTimeoutMs); resolves once the process has exited.
  stop(id: string): Promise<void>;
  // Starts the service and resolves once it answers GET /health.
  start(id: string): Promise<void>;
  isRunning(id: string): boolean;
  logs(id: string): string[];
  // Prints every started service's recent lines, readable; for failed tests.
  dumpLogs(): void;
  // Stops every service and removes the temp data root.
  close(): Promise<void>;
}

const HEALTH_TIMEOUT_MS_DEFAULT = 20_000;
const STOP_TIMEOUT_MS_DEFAULT = 5000;

export async function startCluster(options: StartClusterOptions = {}): Promise<TestCluster> {
  const topology = options.topology ?? defaultTopology;
  // Extra nodes (replica-3) join later: a test starts them itself with cluster.start(id).
  const services = options.services ?? topology.filter((s) => !s.extra).map((s) => s.id);
  const ports = options.defaultPorts ? topology.map((s) => s.port) : await freePorts(topology.length);
  const portById = Object.fromEntries(topology.map((s, i) => [s.id, ports[i] as number]));
  const dataRoot = await mkdtemp(path.join(os.tmpdir(), 'mirrorlab-test-'));
  const plan = planCluster({ host: '127.0.0.1', ports: portById, dataRoot, topology });
  const echo = process.env.MIRRORLAB_ECHO_LOGS === '1';
  const processes = new ClusterProcesses({
    plan,
    topology,
    env: options.env,
    serviceEnv: options.serviceEnv,
    restartPolicy: options.restartPolicy ?? null,
    stopTimeoutMs: options.stopTimeoutMs ?? STOP_TIMEOUT_MS_DEFAULT,
    onLine: echo ? (id, line) => process.stderr.write(`[${id}] ${formatLogLine(line)}\n`) : undefined,
  });
  const started = new Set<string>();
  const healthTimeoutMs = options.healthTimeoutMs ?? HEALTH_TIMEOUT_MS_DEFAULT;

  const cluster: TestCluster = {
    plan,
    dataRoot,
    processes,
    url: (id) => urlOf(plan, id),
    kill: (id) => processes.kill(id),
    stop: (id) => processes.stop(id),
    start: async (id) => {
      started.add(id);
      await processes.start(id);
      await waitHealthy(processes, plan, id, healthTimeoutMs);
    },
    isRunning: (id) => processes.isRunning(id),
    logs: (id) => processes.logs(id),
    dumpLogs: () => console.error(renderLogs(processes, [...started])),
    close: async () => {
      await processes.stopAll();
      await rm(dataRoot, { recursive: true, force: true, maxRetries: 3 });
    },
  };

  try {
    await Promise.all(services.map((id) => cluster.start(id)));
  } catch (err) {
    cluster.dumpLogs();
    await cluster.close();
    throw err;
  }
  return cluster;
}

function urlOf(plan: ClusterPlan, id: string): string {
  const url = plan.urls[id];
  if (!url) throw new Error(`unknown service ${JSON.stringify(id)}; valid ids are ${Object.keys(plan.urls).join(', ')}`);
  return url;
}

// Waits for GET /health; gives up at once if the process is gone, with what it printed last.
async function waitHealthy(processes: ClusterProcesses, plan: ClusterPlan, id: string, timeoutMs: number): Promise<void> {
  const outcome = await waitFor(
    async () => {
      if (processes.state(id) === 'down') return 'exited' as const;
      const response = await getJson(`${urlOf(plan, id)}/health`, { timeoutMs: 1000 });
      return response.status === 200 ? ('healthy' as const) : null;
    },
    { what: `${id} to answer GET /health`, timeoutMs, intervalMs: 100 },
  );
  if (outcome === 'exited') {
    const tail = processes.logs(id).slice(-20).join('\n  ');
    throw new Error(`${id} exited before answering GET /health; its last lines:\n  ${tail}`);
  }
}

function renderLogs(processes: ClusterProcesses, ids: readonly string[]): string {
  return ids
    .map((id) => {
      const lines = processes.logs(id);
      const body = lines.map((line) => formatLogLine(line, { utc: true })).join('\n');
      return `===== ${id}: last ${lines.length} lines (times UTC) =====\n${body}`;
    })
    .join('\n');
}

// For a test file that shares one cluster between its tests: when a test fails, every process's
// recent lines are printed (as rqlite's system tests dump their logs).
export function dumpLogsOnFailure(current: () => TestCluster | null | undefined): void {
  afterEach((context) => {
    if (context.task.result?.state === 'fail') current()?.dumpLogs();
  });
}

// For a test file that starts a cluster per test: start() starts one, and after the test it is
// closed, its logs printed first when the test failed.
export function clusterPerTest(): { start(options?: StartClusterOptions): Promise<TestCluster> } {
  let current: TestCluster | null = null;
  afterEach(async (context) => {
    if (context.task.result?.state === 'fail') current?.dumpLogs();
    await current?.close();
    current = null;
  });
  return {
    start: async (options) => {
      await current?.close();
      current = await startCluster(options);
      return current;
    },
  };
}
