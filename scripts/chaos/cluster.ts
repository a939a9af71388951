// The chaos run's own cluster: the five services as real processes through ClusterProcesses, on
// free ports, with their data under `<run dir>/data/<id>/` and every line they print in
// `<run dir>/logs/<id>.log`, so it never touches a cluster running on 7000-7004 and the run keeps
// what it needs to explain a finding.
//
// Restarts are off: the nemesis restarts what it kills. A process that exits when no fault asked it
// to is a finding; it is recorded and started again at the next heal.

import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { ClusterProcesses, describeProcessEvent, type ProcessEvent } from '../lib/cluster-processes.ts';
import { freePorts } from '../lib/free-ports.ts';
import { CONTROL_ID, defaultTopology, planCluster, type ClusterPlan } from '../../shared/topology.ts';
import type { ProcessExit } from './checker.ts';
import type { RunClock } from './clock.ts';
import { type Http, sleep } from './http.ts';

export const clusterLimits = {
  healthTimeoutMs: 30_000,
  healthPollMs: 100,
  stopTimeoutMs: 10_000,
} as const;

export class ChaosCluster {
  readonly unexpectedExits: ProcessExit[] = [];
  private readonly expectedExits = new Set<string>();
  private clock: RunClock | null = null;

  private constructor(
    readonly plan: ClusterPlan,
    readonly processes: ClusterProcesses,
    private readonly logs: Map<string, WriteStream>,
    private readonly http: Http,
  ) {}

  static async start(runDir: string, http: Http, onNote: (text: string) => void): Promise<ChaosCluster> {
    const ports = await freePorts(defaultTopology.length);
    const portById = Object.fromEntries(defaultTopology.map((s, i) => [s.id, ports[i] as number]));
    const dataRoot = path.join(runDir, 'data');
    await mkdir(path.join(runDir, 'logs'), { recursive: true });
    await mkdir(dataRoot, { recursive: true });
    const plan = planCluster({ host: '127.0.0.1', ports: portById, dataRoot });
    const logs = new Map(defaultTopology.map((s) => [s.id, createWriteStream(path.join(runDir, 'logs', `${s.id}.log`), { flags: 'a' })]));
    let cluster: ChaosCluster | null = null;
    const processes = new ClusterProcesses({
      plan,
      restartPolicy: null,
      stopTimeoutMs: clusterLimits.stopTimeoutMs,
      onLine: (id, line) => logs.get(id)?.write(`${line}\n`),
      onEvent: (event) => cluster?.onProcessEvent(event, onNote),
    });
    cluster = new ChaosCluster(plan, processes, logs, http);
    try {
      await Promise.all(defaultTopology.map((s) => (cluster as ChaosCluster).start(s.id)));
    } catch (error) {
      await cluster.close();
      throw error;
    }
    return cluster;
  }

  // From now on, times are on the run's clock.
  useClock(clock: RunClock): void {
    this.clock = clock;
  }

  url(id: string): string {
    const url = this.plan.urls[id];
    if (!url) throw new Error(`unknown service ${JSON.stringify(id)}`);
    return url;
  }

  get controlUrl(): string {
    return this.url(CONTROL_ID);
  }

  nodeIds(): string[] {
    return defaultTopology.filter((s) => s.kind === 'node').map((s) => s.id);
  }

  // The id of the data node at a URL (a 307's Location), or null.
  nodeAt(url: string): string | null {
    for (const id of this.nodeIds()) if (url.startsWith(`${this.url(id)}/`)) return id;
    return null;
  }

  // The next exit of `id` is the nemesis's doing (a crash it asked control for).
  expectExit(id: string): void {
    this.expectedExits.add(id);
  }

  forgetExpectedExit(id: string): void {
    this.expectedExits.delete(id);
  }

  // Starts the service and resolves once it answers GET /health; throws with its last lines if not.
  async start(id: string): Promise<void> {
    await this.processes.start(id);
    const deadline = Date.now() + clusterLimits.healthTimeoutMs;
    while (Date.now() < deadline) {
      if (this.processes.state(id) === 'down') break;
      const answer = await this.http.tryCall('GET', `${this.url(id)}/health`, undefined, 1000);
      if (answer?.status === 200) return;
      await sleep(clusterLimits.healthPollMs);
    }
    const tail = this.processes.logs(id).slice(-20).join('\n  ');
    throw new Error(`${id} did not answer GET /health within ${clusterLimits.healthTimeoutMs} ms; its last lines:\n  ${tail}`);
  }

  kill(id: string): Promise<void> {
    return this.processes.kill(id);
  }

  // Starts every service that is down (after a crash nobody asked for, or a failed restart).
  async ensureAllRunning(): Promise<string[]> {
    const down = this.processes.ids().filter((id) => !this.processes.isRunning(id));
    await Promise.all(down.map((id) => this.start(id)));
    return down;
  }

  async close(): Promise<void> {
    await this.processes.stopAll();
    await Promise.all([...this.logs.values()].map((stream) => new Promise((resolve) => stream.end(resolve))));
  }

  private onProcessEvent(event: ProcessEvent, onNote: (text: string) => void): void {
    const atMs = this.clock?.now() ?? 0;
    this.logs.get(event.id)?.write(`${JSON.stringify({ chaos: 'process', atMs, time: Date.now(), ...event, text: describeProcessEvent(event) })}\n`);
    if (event.type !== 'exited' || event.requested) return;
    if (this.expectedExits.delete(event.id)) return;
    const description = describeProcessEvent(event);
    this.unexpectedExits.push({ id: event.id, atMs, description });
    onNote(`${event.id} ${description} without a fault asking for it; its last lines:\n    ${this.processes.logs(event.id).slice(-10).join('\n    ')}`);
  }
}
