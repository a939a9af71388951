// Runs the cluster's services as real OS processes: the one process manager behind the local
// launcher, the cluster tests, chaos and bench. Each service starts with exactly the command and
// environment shared/topology.ts gives it (the same ones compose uses), from the repository root.
//
// Each child leads its own process group, so a kill reaches whatever it spawned (tsx's helpers),
// and Ctrl-C in a terminal reaches only the launcher, which then stops the services in order.
// If this process exits while children run, an exit hook SIGKILLs their groups; only a SIGKILL of
// this process itself can leave them behind, and nothing can catch that.

import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { defaultTopology, serviceCommand, serviceEnv, type ClusterPlan, type ServiceSpec } from '../../shared/topology.ts';
import { decideRestart, describeExit, exitWasFailure, onFailureRestartPolicy, type RestartPolicy } from './restart-policy.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

// Bounds of the process manager (the services' own bounds live in shared/limits.ts).
export const processLimits = {
  // Lines kept per service for dumping when a test fails.
  logLinesMax: 2000,
  // A longer line is cut in the ring (the onLine callback still gets all of it).
  logLineCharsMax: 16_384,
  // Like `docker stop`: SIGTERM, then SIGKILL after this long.
  stopTimeoutMs: 10_000,
} as const;

export type OutputStream = 'stdout' | 'stderr';

export type ProcessEvent =
  | { type: 'started'; id: string; pid: number; restart: boolean }
  | { type: 'spawn_failed'; id: string; error: string }
  | { type: 'exited'; id: string; pid: number; code: number | null; signal: NodeJS.Signals | null; requested: boolean }
  | { type: 'stop_timeout'; id: string; pid: number; timeoutMs: number }
  | { type: 'restarting'; id: string; delayMs: number; attempt: number; restartsMax: number; windowMs: number }
  | { type: 'given_up'; id: string; reason: string };

export interface ClusterProcessesOptions {
  plan: ClusterPlan;
  topology?: readonly ServiceSpec[];
  // Defaults to the repository root: service commands use paths relative to it.
  cwd?: string;
  // Extra environment for every service, then per service id; both override serviceEnv().
  env?: Record<string, string>;
  serviceEnv?: Record<string, Record<string, string>>;
  // null turns restarts off; the default is Docker's on-failure with a bound.
  restartPolicy?: RestartPolicy | null;
  stopTimeoutMs?: number;
  logLinesMax?: number;
  onLine?: (id: string, line: string, stream: OutputStream) => void;
  onEvent?: (event: ProcessEvent) => void;
}

interface Service {
  spec: ServiceSpec;
  child: ChildProcess | null;
  // Settles when the current child has exited (or failed to spawn).
  exited: Promise<void>;
  // Set by kill/stop so the exit that follows is not taken for a crash.
  stopRequested: boolean;
  restartTimer: NodeJS.Timeout | null;
  restartTimesMs: number[];
  lines: string[];
}

export class ClusterProcesses {
  private readonly services = new Map<string, Service>();
  private readonly topology: readonly ServiceSpec[];
  private readonly restartPolicy: RestartPolicy | null;
  // Environment set for a service's later starts (setServiceEnv), over the options' own.
  private readonly envChanges = new Map<string, Record<string, string>>();
  // Settings given from the shell at a start (ServiceSpec.shellEnv), per service id; kept for the
  // service's later starts and restarts, as a container keeps its environment.
  private readonly shellSettings = new Map<string, Record<string, string>>();

  constructor(private readonly options: ClusterProcessesOptions) {
    this.topology = options.topology ?? defaultTopology;
    this.restartPolicy = options.restartPolicy === undefined ? onFailureRestartPolicy : options.restartPolicy;
    for (const spec of this.topology) {
      this.services.set(spec.id, {
        spec, child: null, exited: Promise.resolve(), stopRequested: false, restartTimer: null, restartTimesMs: [], lines: [],
      });
    }
    for (const id of Object.keys(options.serviceEnv ?? {})) this.service(id);
  }

  ids(): string[] {
    return [...this.services.keys()];
  }

  isRunning(id: string): boolean {
    return this.service(id).child !== null;
  }

  pid(id: string): number | null {
    return this.service(id).child?.pid ?? null;
  }

  // running; restart_pending (crashed, the policy will start it again); down (until start(id)).
  state(id: string): 'running' | 'restart_pending' | 'down' {
    const service = this.service(id);
    if (service.child) return 'running';
    return service.restartTimer ? 'restart_pending' : 'down';
  }

  // The last lines the service printed (and the manager's own notes about it), oldest first.
  logs(id: string): string[] {
    return [...this.service(id).lines];
  }

  // The service variables a person may set from the shell for this service (see ServiceSpec.shellEnv).
  settable(id: string): string[] {
    return Object.keys(this.service(id).spec.shellEnv ?? {});
  }

  settings(id: string): Record<string, string> {
    return { ...(this.shellSettings.get(id) ?? {}) };
  }

  // Takes effect at the service's next start; an empty value sets the variable empty (no filter).
  configure(id: string, env: Record<string, string>): void {
    const settable = this.settable(id);
    const bad = Object.keys(env).filter((name) => !settable.includes(name));
    if (bad.length > 0) throw new Error(`${id} takes no ${bad.join(', ')} from the shell; it takes ${settable.join(', ') || 'none'}`);
    this.shellSettings.set(id, { ...this.settings(id), ...env });
  }

  // The services a whole-cluster start runs: every one but the extra nodes, which join later.
  defaultIds(): string[] {
    return [...this.services.values()].filter((s) => !s.spec.extra).map((s) => s.spec.id);
  }

  async startAll(): Promise<void> {
    await Promise.all(this.defaultIds().map((id) => this.start(id)));
  }

  // Starts the service unless it runs; resolves with its pid once the OS has spawned it. A manual
  // start forgets earlier crashes, as `docker compose start` does.
  async start(id: string): Promise<number> {
    const service = this.service(id);
    const runningPid = service.child?.pid;
    if (runningPid !== undefined) return runningPid;
    this.cancelRestart(service);
    service.restartTimesMs = [];
    return this.spawn(service, false);
  }

  // SIGKILL to the whole process group; resolves once the process has exited. It stays down.
  async kill(id: string): Promise<void> {
    const service = this.service(id);
    this.cancelRestart(service);
    const child = service.child;
    if (!child || child.pid === undefined) return;
    service.stopRequested = true;
    signalGroup(child.pid, 'SIGKILL');
    await service.exited;
  }

  // SIGTERM to the service, SIGKILL to its group if it has not exited by the deadline. It stays down.
  async stop(id: string): Promise<void> {
    const service = this.service(id);
    this.cancelRestart(service);
    const child = service.child;
    if (!child || child.pid === undefined) return;
    service.stopRequested = true;
    child.kill('SIGTERM');
    const timeoutMs = this.options.stopTimeoutMs ?? processLimits.stopTimeoutMs;
    if (await settlesWithin(service.exited, timeoutMs)) return;
    this.emit({ type: 'stop_timeout', id, pid: child.pid, timeoutMs });
    signalGroup(child.pid, 'SIGKILL');
    await service.exited;
  }

  async stopAll(): Promise<void> {
    for (const service of this.services.values()) this.cancelRestart(service);
    await Promise.all(this.ids().map((id) => this.stop(id)));
  }

  // Changes a service's environment for its next starts, as editing its compose environment and
  // starting it again would (a running process keeps the environment it started with).
  setServiceEnv(id: string, env: Record<string, string>): void {
    this.service(id);
    this.envChanges.set(id, { ...this.envChanges.get(id), ...env });
  }

  private service(id: string): Service {
    const service = this.services.get(id);
    if (!service) throw new Error(`unknown service ${JSON.stringify(id)}; valid ids are ${this.ids().join(', ')}`);
    return service;
  }

  private spawn(service: Service, restart: boolean): Promise<number> {
    const { spec } = service;
    const [command, ...args] = serviceCommand(spec);
    if (!command) throw new Error(`serviceCommand gave no command for ${spec.id}`);
    const env = {
      ...process.env,
      ...serviceEnv(spec, this.options.plan, this.topology),
      ...this.options.env,
      ...this.options.serviceEnv?.[spec.id],
      ...this.envChanges.get(spec.id),
      ...this.shellSettings.get(spec.id),
    };
    // `node` is run as this very binary: a test runner's PATH may lead to another Node version.
    const child = spawn(command === 'node' ? process.execPath : command, args, {
      cwd: this.options.cwd ?? REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    service.child = child;
    service.stopRequested = false;
    let markExited!: () => void;
    service.exited = new Promise((resolve) => (markExited = resolve));
    this.captureLines(service, child);
    return new Promise((resolve, reject) => {
      child.once('spawn', () => {
        const pid = child.pid as number;
        liveGroups.add(pid);
        this.emit({ type: 'started', id: spec.id, pid, restart });
        resolve(pid);
      });
      child.once('error', (err) => {
        // After a successful spawn an 'error' only means a signal could not be sent; 'exit' follows.
        if (child.pid !== undefined) return;
        if (service.child === child) service.child = null;
        this.emit({ type: 'spawn_failed', id: spec.id, error: err.message });
        markExited();
        reject(new Error(`cannot start ${spec.id}: ${err.message}`));
      });
      child.once('exit', (code, signal) => {
        this.onExit(service, child, code, signal);
        markExited();
      });
    });
  }

  private onExit(service: Service, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    const pid = child.pid as number;
    const id = service.spec.id;
    if (service.child === child) service.child = null;
    // Whatever the service spawned would keep its pipes open (and maybe its port) after it died.
    signalGroup(pid, 'SIGKILL');
    liveGroups.delete(pid);
    const requested = service.stopRequested;
    service.stopRequested = false;
    this.emit({ type: 'exited', id, pid, code, signal, requested });
    const policy = this.restartPolicy;
    if (!policy) return;
    const decision = decideRestart(policy, { code, signal, requested }, service.restartTimesMs, Date.now());
    service.restartTimesMs = decision.restartTimesMs;
    if (!decision.restart) {
      if (exitWasFailure({ code, signal, requested })) this.emit({ type: 'given_up', id, reason: decision.reason });
      return;
    }
    const { restartsMax, windowMs } = policy;
    this.emit({ type: 'restarting', id, delayMs: decision.delayMs, attempt: decision.attempt, restartsMax, windowMs });
    service.restartTimer = setTimeout(() => {
      service.restartTimer = null;
      if (service.child) return;
      this.spawn(service, true).catch(() => {
        // spawn_failed was already reported; a binary that cannot start will not start on retry.
      });
    }, decision.delayMs);
  }

  private captureLines(service: Service, child: ChildProcess): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      const input = child[stream];
      if (!input) continue;
      createInterface({ input, crlfDelay: Infinity }).on('line', (line) => {
        this.remember(service, line);
        this.options.onLine?.(service.spec.id, line, stream);
      });
    }
  }

  private remember(service: Service, line: string): void {
    const charsMax = processLimits.logLineCharsMax;
    service.lines.push(line.length > charsMax ? `${line.slice(0, charsMax)}… (cut at ${charsMax} chars)` : line);
    const linesMax = this.options.logLinesMax ?? processLimits.logLinesMax;
    if (service.lines.length > linesMax) service.lines.splice(0, service.lines.length - linesMax);
  }

  private cancelRestart(service: Service): void {
    if (service.restartTimer) clearTimeout(service.restartTimer);
    service.restartTimer = null;
  }

  private emit(event: ProcessEvent): void {
    const service = this.services.get(event.id);
    // The manager's notes go into the ring too, so a dump shows when and how a service died.
    if (service) this.remember(service, `[process] ${describeProcessEvent(event)}`);
    this.options.onEvent?.(event);
  }
}

export function describeProcessEvent(event: ProcessEvent): string {
  switch (event.type) {
    case 'started':
      return `${event.restart ? 'restarted' : 'started'} (pid ${event.pid})`;
    case 'spawn_failed':
      return `could not be started: ${event.error}`;
    case 'exited':
      return `${describeExit(event)} (pid ${event.pid})${event.requested ? ' as requested' : ''}`;
    case 'stop_timeout':
      return `did not stop within ${event.timeoutMs} ms of SIGTERM; sending SIGKILL`;
    case 'restarting':
      return `restarting in ${event.delayMs} ms (restart ${event.attempt} of at most ${event.restartsMax} within ${event.windowMs / 1000} s)`;
    case 'given_up':
      return `not restarted: ${event.reason}`;
  }
}

// Resolves true if the promise settles within ms, false otherwise; never leaves a timer behind.
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true as const), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone, which is what we wanted. Nothing else can fail for a
    // group we created ourselves, and a throw here would take the launcher down with it.
  }
}

// Process groups of every child still running, across all managers in this process.
const liveGroups = new Set<number>();
process.once('exit', () => {
  for (const pid of liveGroups) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
});
