// `npm start`: the whole cluster on this machine without Docker — control and the four data nodes as
// five processes on 127.0.0.1, every log line prefixed with its service, Ctrl-C stops them all.
//
// Environment (all optional):
//   DATA_ROOT=.data      each service keeps `<DATA_ROOT>/<id>/`; relative to the repository root
//   PORT_BASE=7000       control's port; primary, mirror, replica-1, replica-2 follow at +1..+4, and
//                        replica-3 (not started here: `npm run node -- start replica-3`, with
//                        `REPLICA_3_FILTER=<prefix>` for a filtered one, as in compose) at +5
//   CLUSTER_SECRET=...   the internal-route secret (default: the development secret)
//   LOG_LEVEL, FSYNC, HEARTBEAT_MS, ...  passed through to every service
//
// While it runs, `npm run node -- kill|stop|start <id>` acts on one service through the launcher's
// socket at `<DATA_ROOT>/launcher.sock`. A service that crashes by itself is restarted after 500 ms,
// at most 5 times in 60 s (Docker's on-failure); one killed or stopped on request stays down.

import { rmSync } from 'node:fs';
import { mkdir, unlink } from 'node:fs/promises';
import type http from 'node:http';
import { request } from 'undici';
import { ClusterProcesses, describeProcessEvent, type ProcessEvent } from './lib/cluster-processes.ts';
import { serveLauncherEndpoint } from './lib/launcher-endpoint.ts';
import { launcherPlan, readLauncherSettings, type LauncherSettings } from './lib/launcher-settings.ts';
import { formatLogLine } from './lib/log-line.ts';
import { launcherTopology, type ClusterPlan } from '../shared/topology.ts';
import { portIsFree } from './lib/free-ports.ts';

// How long the services get to answer /health before the launcher says which did not.
const HEALTH_DEADLINE_MS = 30_000;
const HEALTH_POLL_MS = 200;
const HEALTH_REQUEST_TIMEOUT_MS = 1000;
const REPEAT_SIGNAL_GRACE_MS = 1000;

const color = process.stdout.isTTY === true && !process.env.NO_COLOR;
const SERVICE_COLORS = ['36', '32', '33', '35', '34', '96'];
const LAUNCHER = 'launcher';

class Terminal {
  private readonly width: number;
  private readonly colors = new Map<string, string>();

  constructor(ids: readonly string[]) {
    this.width = Math.max(LAUNCHER.length, ...ids.map((id) => id.length)) + 2;
    for (const [i, id] of ids.entries()) this.colors.set(id, SERVICE_COLORS[i % SERVICE_COLORS.length] ?? '0');
  }

  // Every line of a (possibly multi-line) text, behind the service's prefix.
  print(id: string, text: string): void {
    const label = `[${id}]`.padEnd(this.width);
    const prefix = color ? `\u001b[${this.colors.get(id) ?? '1'}m${label}\u001b[0m` : label;
    process.stdout.write(text.split('\n').map((line) => `${prefix} ${line}\n`).join(''));
  }

  say(text: string): void {
    this.print(LAUNCHER, text);
  }
}

function fail(message: string): never {
  process.stderr.write(`npm start: ${message}\n`);
  process.exit(1);
}

function readSettings(): LauncherSettings {
  const result = readLauncherSettings(process.env);
  if (!result.ok) fail(`cannot start, the environment has problems:\n${result.problems.map((p) => `  - ${p}`).join('\n')}`);
  return result.settings;
}

// Resolves the services whose port something else already holds.
async function busyPorts(plan: ClusterPlan): Promise<string[]> {
  const busy: string[] = [];
  for (const [id, port] of Object.entries(plan.ports)) {
    if (!(await portIsFree(port, plan.host))) busy.push(`${port} (${id})`);
  }
  return busy;
}

async function answersHealth(url: string): Promise<boolean> {
  try {
    const response = await request(`${url}/health`, {
      headersTimeout: HEALTH_REQUEST_TIMEOUT_MS,
      bodyTimeout: HEALTH_REQUEST_TIMEOUT_MS,
      signal: AbortSignal.timeout(HEALTH_REQUEST_TIMEOUT_MS),
    });
    await response.body.dump();
    return response.statusCode === 200;
  } catch {
    return false;
  }
}

// Waits until every service answers /health, the deadline passes, or nothing is left that could
// still come up (every missing service is down for good). Resolves the ids that never answered.
async function waitUntilHealthy(processes: ClusterProcesses, plan: ClusterPlan, isStopping: () => boolean): Promise<string[]> {
  const waiting = new Set(processes.defaultIds());
  const deadline = Date.now() + HEALTH_DEADLINE_MS;
  while (waiting.size > 0 && Date.now() < deadline && !isStopping()) {
    for (const id of [...waiting]) if (await answersHealth(plan.urls[id] ?? '')) waiting.delete(id);
    if ([...waiting].every((id) => processes.state(id) === 'down')) break;
    await new Promise((resolve) => setTimeout(resolve, HEALTH_POLL_MS));
  }
  return [...waiting];
}

function printReady(terminal: Terminal, plan: ClusterPlan, settings: LauncherSettings): void {
  const extraIds = launcherTopology.filter((s) => s.extra).map((s) => s.id);
  const width = Math.max(...Object.keys(plan.urls).map((id) => id.length));
  const lines = [
    'mirrorlab is up:',
    ...Object.entries(plan.urls).filter(([id]) => !extraIds.includes(id)).map(([id, url]) => `  ${id.padEnd(width)}  ${url}`),
    `data under ${settings.dataRoot}/<id>/`,
    'npm run node -- kill|stop|start <id>   acts on one service; Ctrl-C stops everything',
    `not started: ${extraIds.map((id) => `${id} (${plan.urls[id]})`).join(', ')}; npm run node -- start <id> adds it to the running cluster`,
  ];
  terminal.say(lines.join('\n'));
}

function reportUnhealthy(terminal: Terminal, processes: ClusterProcesses, missing: string[]): void {
  const lines = missing.map((id) => `  ${id}: ${processes.state(id).replace('_', ' ')}; last lines:\n${lastLines(processes, id)}`);
  terminal.say(`not answering /health after startup:\n${lines.join('\n')}`);
  if (processes.defaultIds().every((id) => processes.state(id) === 'down')) fail('no service is running; see the errors above');
  terminal.say('the others keep running; Ctrl-C stops everything');
}

function lastLines(processes: ClusterProcesses, id: string): string {
  return processes.logs(id).slice(-5).map((line) => `      ${line}`).join('\n');
}

function eventText(event: ProcessEvent): string {
  // A crash is worth a loud line: it is the one event the user did not cause.
  const loud = event.type === 'given_up' || (event.type === 'exited' && !event.requested);
  const text = describeProcessEvent(event);
  return loud && color ? `\u001b[1;31m${text}\u001b[0m` : text;
}

// Opens the socket `npm run node` talks to; refuses while the launcher is stopping everything.
async function openEndpoint(settings: LauncherSettings, processes: ClusterProcesses, isStopping: () => boolean): Promise<http.Server> {
  try {
    const endpoint = await serveLauncherEndpoint(settings.socketPath, {
      ids: () => processes.ids(),
      isRunning: (id) => processes.isRunning(id),
      pid: (id) => processes.pid(id),
      act: async (action, id) => {
        if (isStopping()) throw new Error('the launcher is stopping every service');
        await processes[action](id);
      },
      settable: (id) => processes.settable(id),
      settings: (id) => processes.settings(id),
      configure: (id, env) => processes.configure(id, env),
    });
    // The socket is ours from here on; a stale file would only confuse the next `npm run node`.
    process.once('exit', () => rmSync(settings.socketPath, { force: true }));
    return endpoint;
  } catch (err) {
    fail((err as Error).message);
  }
}

// First SIGINT/SIGTERM/SIGHUP: stop every service (SIGTERM, then SIGKILL after 10 s) and exit 0.
// A second one: exit at once; the process manager's exit hook SIGKILLs every service's group.
function installShutdown(terminal: Terminal, lifecycle: { stopping: boolean }, stopEverything: () => Promise<void>): void {
  let stoppingSinceMs = 0;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (lifecycle.stopping) {
      // Under npm one Ctrl-C arrives twice (from the terminal and forwarded by npm); only a
      // second press, a moment later, means "kill now".
      if (Date.now() - stoppingSinceMs < REPEAT_SIGNAL_GRACE_MS) return;
      terminal.say(`${signal} again: killing every service now`);
      process.exit(1);
    }
    lifecycle.stopping = true;
    stoppingSinceMs = Date.now();
    terminal.say(`${signal}: stopping every service (again to kill at once)`);
    stopEverything().then(
      () => {
        terminal.say('all stopped');
        process.exit(0);
      },
      (err: unknown) => fail(`stopping failed: ${String(err)}`),
    );
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, shutdown);
}

async function main(): Promise<void> {
  const settings = readSettings();
  const plan = launcherPlan(settings);
  const terminal = new Terminal(Object.keys(plan.ports));
  await mkdir(settings.dataRoot, { recursive: true });
  const processes = new ClusterProcesses({
    plan,
    topology: launcherTopology,
    onLine: (id, line) => terminal.print(id, formatLogLine(line, { color })),
    onEvent: (event) => terminal.print(event.id, eventText(event)),
  });
  const lifecycle = { stopping: false };
  const endpoint = await openEndpoint(settings, processes, () => lifecycle.stopping);
  const busy = await busyPorts(plan);
  if (busy.length > 0) {
    await closeEndpoint(endpoint, settings);
    fail(`${busy.length > 1 ? 'ports' : 'port'} ${busy.join(', ')} already in use; stop what holds it (another mirrorlab?) or set PORT_BASE`);
  }
  installShutdown(terminal, lifecycle, async () => {
    await processes.stopAll();
    await closeEndpoint(endpoint, settings);
  });

  terminal.say(`starting ${processes.defaultIds().join(', ')}`);
  await processes.startAll();
  const missing = await waitUntilHealthy(processes, plan, () => lifecycle.stopping);
  if (lifecycle.stopping) return;
  if (missing.length === 0) printReady(terminal, plan, settings);
  else reportUnhealthy(terminal, processes, missing);
}

async function closeEndpoint(endpoint: http.Server, settings: LauncherSettings): Promise<void> {
  await new Promise<void>((resolve) => {
    endpoint.close(() => resolve());
    endpoint.closeAllConnections();
  });
  await unlink(settings.socketPath).catch(() => undefined);
}

main().catch((err: unknown) => fail(`unexpected failure: ${(err as Error).stack ?? String(err)}`));
