// The bench's own cluster: the five services as real processes through ClusterProcesses, on free
// ports and under a fresh temp data root, so it never touches a cluster already running on 7000-7004
// or its .data/. No automatic restarts: a node that dies on its own is a finding, and the bench
// decides itself when a killed node comes back.

import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ClusterProcesses, describeProcessEvent } from '../lib/cluster-processes.ts';
import { freePorts } from '../lib/free-ports.ts';
import { CONTROL_ID, defaultTopology, planCluster, type ClusterPlan } from '../../shared/topology.ts';
import { getJson, pollUntil } from './http.ts';

const HEALTH_TIMEOUT_MS = 30_000;
// Warnings and errors kept for the report (the oldest are dropped past this).
const WARNINGS_MAX = 1000;

export interface LoggedWarning {
  atMs: number;
  id: string;
  level: 'warn' | 'error' | 'fatal';
  msg: string;
}
const STOP_TIMEOUT_MS = 10_000;

export interface BenchClusterOptions {
  // Environment for every service, then per service id (e.g. the CPU profiler preload for one).
  env?: Record<string, string>;
  serviceEnv?: Record<string, Record<string, string>>;
  // Told when a service exits without being asked to: the bench reports it.
  onUnexpectedExit: (id: string, description: string, lastLines: string[]) => void;
}

export class BenchCluster {
  // What the services logged at warn and above, in order: a stall in a figure often has its
  // explanation here (a mirror suspended, a stream reconnected).
  readonly warnings: LoggedWarning[] = [];

  private constructor(
    readonly plan: ClusterPlan,
    readonly processes: ClusterProcesses,
  ) {}

  static async start(options: BenchClusterOptions): Promise<BenchCluster> {
    const ports = await freePorts(defaultTopology.length);
    const portById = Object.fromEntries(defaultTopology.map((s, i) => [s.id, ports[i] as number]));
    const dataRoot = await mkdtemp(path.join(os.tmpdir(), 'mirrorlab-bench-'));
    const plan = planCluster({ host: '127.0.0.1', ports: portById, dataRoot });
    let cluster: BenchCluster | null = null;
    const processes = new ClusterProcesses({
      plan,
      env: options.env,
      serviceEnv: options.serviceEnv,
      restartPolicy: null,
      stopTimeoutMs: STOP_TIMEOUT_MS,
      onLine: (id, line) => cluster?.noteLine(id, line),
      onEvent: (event) => {
        if (event.type === 'exited' && !event.requested && cluster) {
          options.onUnexpectedExit(event.id, describeProcessEvent(event), processes.logs(event.id).slice(-15));
        }
      },
    });
    cluster = new BenchCluster(plan, processes);
    try {
      await Promise.all(defaultTopology.map((s) => cluster.start(s.id)));
    } catch (error) {
      await cluster.close();
      throw error;
    }
    return cluster;
  }

  // pino levels: 40 warn, 50 error, 60 fatal. Lines that are not JSON are not the services' logs.
  private noteLine(id: string, line: string): void {
    const level = /"level":(40|50|60)[,}]/.exec(line)?.[1];
    if (!level) return;
    let msg = line;
    try {
      msg = String((JSON.parse(line) as { msg?: unknown }).msg ?? line);
    } catch {
      // keep the raw line
    }
    this.warnings.push({ atMs: performance.now(), id, level: level === '40' ? 'warn' : level === '50' ? 'error' : 'fatal', msg });
    if (this.warnings.length > WARNINGS_MAX) this.warnings.splice(0, this.warnings.length - WARNINGS_MAX);
  }

  // Warnings logged since `sinceMs` (performance.now() time), most frequent first: the stall
  // watch's as one summary per node (how many GC pauses and stalls, the longest of each), the
  // rest counted by node and message.
  warningsSince(sinceMs: number): string[] {
    const counts = new Map<string, number>();
    const stalls = new Map<string, { gc: number; gcMaxMs: number; gcMaxKind: string; loop: number; loopMaxMs: number }>();
    for (const w of this.warnings) {
      if (w.atMs < sinceMs) continue;
      const watched = /^(gc (.*) pause|event loop stalled) ≥ (\d+) ms$/.exec(w.msg);
      if (watched) {
        const s = stalls.get(w.id) ?? { gc: 0, gcMaxMs: 0, gcMaxKind: '', loop: 0, loopMaxMs: 0 };
        const ms = Number(watched[3]);
        if (w.msg.startsWith('gc')) {
          s.gc++;
          if (ms >= s.gcMaxMs) s.gcMaxKind = watched[2] ?? '';
          s.gcMaxMs = Math.max(s.gcMaxMs, ms);
        } else {
          s.loop++;
          s.loopMaxMs = Math.max(s.loopMaxMs, ms);
        }
        stalls.set(w.id, s);
        continue;
      }
      const key = `${w.id} ${w.level} "${w.msg}"`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    const summaries = [...stalls].map(([id, s]) => {
      const parts = [];
      if (s.gc > 0) parts.push(`${s.gc} GC pause${s.gc === 1 ? '' : 's'} (longest ≥ ${s.gcMaxMs} ms, ${s.gcMaxKind})`);
      if (s.loop > 0) parts.push(`${s.loop} event-loop stall${s.loop === 1 ? '' : 's'} (longest ≥ ${s.loopMaxMs} ms)`);
      return `${id}: ${parts.join(', ')}`;
    });
    const others = [...counts].sort((a, b) => b[1] - a[1]).map(([key, n]) => (n > 1 ? `${key} ×${n}` : key));
    return [...summaries, ...others];
  }

  get dataRoot(): string {
    return this.plan.dataRoot;
  }

  dataDir(id: string): string {
    return path.join(this.plan.dataRoot, id);
  }

  url(id: string): string {
    const url = this.plan.urls[id];
    if (!url) throw new Error(`unknown service ${JSON.stringify(id)}`);
    return url;
  }

  dataNodeIds(): string[] {
    return defaultTopology.filter((s) => s.kind === 'node').map((s) => s.id);
  }

  replicaIds(): string[] {
    return defaultTopology.filter((s) => s.role === 'replica').map((s) => s.id);
  }

  get controlUrl(): string {
    return this.url(CONTROL_ID);
  }

  pid(id: string): number | null {
    return this.processes.pid(id);
  }

  // Starts the service and resolves once it answers GET /health; throws with its last lines if it
  // exits or stays silent.
  async start(id: string): Promise<void> {
    await this.processes.start(id);
    const healthy = await pollUntil(async () => {
      if (this.processes.state(id) === 'down') return 'exited' as const;
      return (await getJson(`${this.url(id)}/health`, 1000)).status === 200 ? ('healthy' as const) : null;
    }, HEALTH_TIMEOUT_MS, 50);
    if (healthy === 'healthy') return;
    const tail = this.processes.logs(id).slice(-20).join('\n  ');
    throw new Error(`${id} ${healthy === 'exited' ? 'exited' : `did not answer GET /health within ${HEALTH_TIMEOUT_MS} ms`}; its last lines:\n  ${tail}`);
  }

  kill(id: string): Promise<void> {
    return this.processes.kill(id);
  }

  stop(id: string): Promise<void> {
    return this.processes.stop(id);
  }

  async status(id: string): Promise<any> {
    const answer = await getJson(`${this.url(id)}/status`, 3000);
    if (answer.status !== 200) throw new Error(`GET /status of ${id} answered ${answer.status}`);
    return answer.body;
  }

  logs(id: string): string[] {
    return this.processes.logs(id);
  }

  async close(): Promise<void> {
    await this.processes.stopAll();
    await rm(this.plan.dataRoot, { recursive: true, force: true, maxRetries: 3 });
  }
}
