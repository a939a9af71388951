// `npm run test:swarm`: deploy/swarm/stack.yml on a real one-node Docker Swarm (issue 17). It
// deploys the stack under a name of its own (`mirrorlab-check`), waits for every task to be
// healthy, runs the README's curl session and the experiments against it (NODE_CMD
// deploy/swarm/node.sh), kills the primary's task under ack=sync writes (first write at the new
// epoch within FAILOVER_TIMEOUT_MS + 1 s, none lost), starts it again (a synchronized mirror),
// lets replica-3 join, and removes the stack. Whatever happens, it removes what it made: the
// stack, its volumes, the node label it added, and the swarm itself if it initialized one.
// A one-node swarm has one `region` label, so every service is placed by that one region here
// (PLACE_<ID>); the check asserts that each task sits on a node with the label its service asks for.

import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../lib/cluster-processes.ts';
import { defaultTopology, launcherTopology } from '../../shared/topology.ts';
import { describeResult, mustRun, runCommand } from './command.ts';
import { dockerTimeMs } from './compose-project.ts';
import { runCurlSession } from './curl-session.ts';
import { runExperiments } from './experiments.ts';
import { killPrimaryUnderWrites } from './failover.ts';
import { getOk, waitUntil } from './http.ts';
import { CheckSteps, seconds, type Note } from './steps.ts';
import { portIsFree } from '../lib/free-ports.ts';
import { waitJoined } from './join.ts';

const STACK = 'mirrorlab-check';
const IMAGE = 'mirrorlab:swarm-check';
const STACK_FILE = path.join(REPO_ROOT, 'deploy', 'swarm', 'stack.yml');
const NODE_CMD = 'deploy/swarm/node.sh';
const EXTRA = 'replica-3';
const REGION_DEFAULT = 'eu';

const BUILD_TIMEOUT_MS = 600_000;
const COMMAND_TIMEOUT_MS = 120_000;
// A swarm task starts slower than a compose container (scheduling, the overlay network).
const HEALTHY_TIMEOUT_MS = 180_000;
const REJOIN_TIMEOUT_MS = 60_000;
const REMOVAL_TIMEOUT_MS = 90_000;
const REQUEST_TIMEOUT_MS = 5_000;
const FAILOVER_TIMEOUT_MS_DEFAULT = 1500;

// Swarm publishes on every interface: the port must be free on all of them.
const portIsFreeOn = (port: number) => portIsFree(port, '0.0.0.0');

const urls = Object.fromEntries(launcherTopology.map((s) => [s.id, `http://127.0.0.1:${s.port}`]));
const controlUrl = urls.control as string;
const fiveServices = defaultTopology.map((s) => s.id);

const outDir = mkdtempSync(path.join(os.tmpdir(), 'mirrorlab-swarm-check-'));
const steps = new CheckSteps(`npm run test:swarm: stack ${STACK}, image ${IMAGE}, output kept in ${outDir}`);

// What this run changed on the engine, so that cleanup undoes exactly that.
const made = { swarm: false, label: false, nodeId: '', region: REGION_DEFAULT, stack: false };

function env(): NodeJS.ProcessEnv {
  const place = Object.fromEntries(launcherTopology.map((s) => [`PLACE_${s.id.toUpperCase().replace(/-/g, '_')}`, made.region]));
  return { ...process.env, MIRRORLAB_IMAGE: IMAGE, STACK, ...place };
}

const docker = (args: readonly string[], timeoutMs = COMMAND_TIMEOUT_MS) => mustRun('docker', args, { cwd: REPO_ROOT, env: env(), timeoutMs });
const nodeCmd = (action: string, id: string) => mustRun('bash', [NODE_CMD, action, id], { cwd: REPO_ROOT, env: env(), timeoutMs: COMMAND_TIMEOUT_MS });


async function prepareSwarm(note: Note): Promise<void> {
  const engine = await runCommand('docker', ['version', '--format', '{{.Server.Version}}'], { timeoutMs: 20_000 });
  if (engine.code !== 0) throw new Error(`${describeResult('docker version', engine)}\nno Docker engine answers: start one (here: ../shared/tools/docker-engine up)`);
  const busy: number[] = [];
  for (const spec of launcherTopology) if (!(await portIsFreeOn(spec.port))) busy.push(spec.port);
  if (busy.length > 0) throw new Error(`ports held: ${busy.join(', ')}; the stack publishes them on every interface (a compose cluster, npm start?)`);
  const state = (await docker(['info', '--format', '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}'])).stdout.trim();
  if (state.startsWith('inactive')) {
    await docker(['swarm', 'init', '--advertise-addr', '127.0.0.1']);
    made.swarm = true;
    note('initialized a one-node swarm (docker swarm init --advertise-addr 127.0.0.1); it is left at the end');
  } else if (state !== 'active true') {
    throw new Error(`this engine is in a swarm but not a manager (${state}): run the check on a manager`);
  } else note('this engine is already a swarm manager: the check uses that swarm');
  made.nodeId = (await docker(['info', '--format', '{{.Swarm.NodeID}}'])).stdout.trim();
  const label = (await docker(['node', 'inspect', made.nodeId, '--format', '{{index .Spec.Labels "region"}}'])).stdout.trim();
  if (label === '' || label === '<no value>') {
    await docker(['node', 'update', '--label-add', `region=${REGION_DEFAULT}`, made.nodeId]);
    made.label = true;
    note(`labelled this node region=${REGION_DEFAULT} (removed at the end)`);
  } else made.region = label;
  note(`every service placed by node.labels.region == ${made.region} (one node, one region); ports ${launcherTopology.map((s) => s.port).join(', ')} free`);
  if ((await docker(['stack', 'ls', '--format', '{{.Name}}'])).stdout.split('\n').includes(STACK)) {
    note(`a ${STACK} stack was left by an earlier run: removing it`);
    await removeStack(note);
  }
}

async function buildAndDeploy(note: Note): Promise<void> {
  // Stack deploy never builds: compose builds the image (control's build) under the check's tag.
  const build = await mustRun('docker', ['compose', '--ansi', 'never', '-p', `${STACK}-build`, 'build', 'control'], { cwd: REPO_ROOT, env: env(), timeoutMs: BUILD_TIMEOUT_MS });
  note(`built ${IMAGE} in ${seconds(build.tookMs)} (docker compose build control)`);
  // --resolve-image never: the image is local; asking a registry for its digest would fail.
  const deploy = await docker(['stack', 'deploy', '--detach=true', '--resolve-image', 'never', '-c', STACK_FILE, STACK]);
  made.stack = true;
  note(`$ docker stack deploy --resolve-image never -c deploy/swarm/stack.yml ${STACK}  (${seconds(deploy.tookMs)})`);
}

interface TaskContainer {
  service: string;
  id: string;
  health: string;
  running: boolean;
  finishedAt: string;
}

async function stackContainers(): Promise<Map<string, TaskContainer>> {
  const ids = (await docker(['ps', '-a', '-q', '--filter', `label=com.docker.stack.namespace=${STACK}`])).stdout.split('\n').filter(Boolean);
  const found = new Map<string, TaskContainer>();
  if (ids.length === 0) return found;
  for (const c of JSON.parse((await docker(['inspect', ...ids])).stdout) as any[]) {
    const service = String(c.Config.Labels['com.docker.swarm.service.name']).slice(STACK.length + 1);
    // Several containers of one service (a killed task and its successor): the running one counts.
    if (found.get(service)?.running && !c.State.Running) continue;
    found.set(service, { service, id: c.Id, health: c.State.Health?.Status ?? 'none', running: c.State.Running, finishedAt: c.State.FinishedAt });
  }
  return found;
}

async function waitHealthy(services: readonly string[], note: Note): Promise<void> {
  const startedMs = Date.now();
  await waitUntil(`the tasks of ${services.join(', ')} to run and be healthy`, HEALTHY_TIMEOUT_MS, async () => {
    const all = await stackContainers();
    const notYet = services.filter((id) => !all.get(id)?.running || all.get(id)?.health !== 'healthy');
    if (notYet.length > 0) throw new Error(`not healthy yet: ${notYet.map((id) => `${id} (${all.get(id)?.health ?? 'no task'})`).join(', ')}`);
    return true;
  }, 1000);
  note(`${services.join(', ')} healthy after ${seconds(Date.now() - startedMs)}`);
}

async function checkPlacement(note: Note): Promise<void> {
  for (const spec of launcherTopology) {
    const service = `${STACK}_${spec.id}`;
    const constraints = JSON.parse((await docker(['service', 'inspect', service, '--format', '{{json .Spec.TaskTemplate.Placement.Constraints}}'])).stdout);
    if (JSON.stringify(constraints) !== JSON.stringify([`node.labels.region == ${made.region}`])) throw new Error(`${service} is placed by ${JSON.stringify(constraints)}`);
    const replicas = (await docker(['service', 'inspect', service, '--format', '{{.Spec.Mode.Replicated.Replicas}}'])).stdout.trim();
    if (replicas !== (spec.extra ? '0' : '1')) throw new Error(`${service} wants ${replicas} tasks`);
  }
  const onNodes = (await docker(['stack', 'ps', STACK, '--filter', 'desired-state=running', '--format', '{{.Node}}'])).stdout.split('\n').filter(Boolean);
  const hostname = (await docker(['node', 'inspect', made.nodeId, '--format', '{{.Description.Hostname}}'])).stdout.trim();
  if (onNodes.length !== fiveServices.length || onNodes.some((n) => n !== hostname)) throw new Error(`tasks on ${onNodes.join(', ')}`);
  note(`each service asks for node.labels.region == ${made.region}; the five tasks run on ${hostname}, which has it; ${EXTRA} has no task`);
}

function experimentsEnv(): NodeJS.ProcessEnv {
  const byId = Object.fromEntries(Object.entries(urls).map(([id, url]) => [id.toUpperCase().replace(/-/g, '_'), url]));
  return { ...env(), ...byId, NODE_CMD, EXPERIMENTS_OUT: path.join(outDir, 'experiments'), NO_COLOR: '1' };
}

async function killUnderWrites(note: Note): Promise<string> {
  const outcome = await killPrimaryUnderWrites(controlUrl, {
    urls,
    failoverTimeoutMs: Number(process.env.FAILOVER_TIMEOUT_MS || FAILOVER_TIMEOUT_MS_DEFAULT),
    keyPrefix: `swarm-check/failover/${Date.now()}`,
    kill: async (id) => {
      const before = (await stackContainers()).get(id);
      if (!before?.running) throw new Error(`${id} has no running task to kill`);
      note(`$ ${NODE_CMD} kill ${id}`);
      note(`  ${(await nodeCmd('kill', id)).stdout.trim()}`);
      const after = JSON.parse((await docker(['inspect', before.id])).stdout)[0];
      if (after.State.Running) throw new Error(`${id}'s container still runs after the kill`);
      return dockerTimeMs(after.State.FinishedAt);
    },
  }, note);
  // Killed and scaled to 0: no task comes back by itself.
  const tasks = (await docker(['service', 'ps', `${STACK}_${outcome.oldPrimary}`, '--filter', 'desired-state=running', '-q'])).stdout.trim();
  if (tasks !== '') throw new Error(`${outcome.oldPrimary} got a new task after the kill: ${tasks}`);
  note(`${outcome.oldPrimary} stays down: its service wants no task`);
  return outcome.oldPrimary;
}

async function startAgain(id: string, note: Note): Promise<void> {
  note(`$ ${NODE_CMD} start ${id}`);
  note(`  ${(await nodeCmd('start', id)).stdout.trim()}`);
  await waitUntil(`${id} to be the synchronized mirror of the primary`, REJOIN_TIMEOUT_MS, async () => {
    const view = await getOk(`${controlUrl}/cluster`, REQUEST_TIMEOUT_MS);
    const status = await getOk(`${urls[view.primary]}/status`, REQUEST_TIMEOUT_MS);
    if (status.mirror?.id !== id || status.mirror.state !== 'synchronized') throw new Error(`the mirror of ${view.primary}: ${JSON.stringify(status.mirror)}`);
    return true;
  });
  note(`${id} is back as the synchronized mirror`);
  await waitHealthy([id], note);
}

async function replica3Joins(note: Note): Promise<void> {
  note(`$ ${NODE_CMD} start ${EXTRA}`);
  await nodeCmd('start', EXTRA);
  await waitHealthy([EXTRA], note);
  await waitJoined({ id: EXTRA, controlUrl, urls, timeoutMs: REJOIN_TIMEOUT_MS, requestTimeoutMs: REQUEST_TIMEOUT_MS }, note);
}

// docker stack rm returns before the containers and the network are gone; the volumes stay.
async function removeStack(note: Note): Promise<void> {
  await docker(['stack', 'rm', STACK]);
  await waitUntil(`the containers and network of ${STACK} to be gone`, REMOVAL_TIMEOUT_MS, async () => {
    const containers = (await docker(['ps', '-a', '-q', '--filter', `label=com.docker.stack.namespace=${STACK}`])).stdout.trim();
    const networks = (await docker(['network', 'ls', '-q', '--filter', `label=com.docker.stack.namespace=${STACK}`])).stdout.trim();
    return containers === '' && networks === '';
  }, 500);
  const volumes = (await docker(['volume', 'ls', '-q', '--filter', `label=com.docker.stack.namespace=${STACK}`])).stdout.split('\n').filter(Boolean);
  if (volumes.length > 0) await docker(['volume', 'rm', ...volumes]);
  note(`docker stack rm ${STACK}: containers and network gone; ${volumes.length} volumes removed`);
}

async function cleanup(): Promise<boolean> {
  const lines: string[] = [];
  let ok = true;
  const attempt = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
      lines.push(`${what}: done`);
    } catch (err) {
      ok = false;
      lines.push(`${what}: FAILED ${(err as Error).message}`);
    }
  };
  if (made.stack) await attempt(`docker stack rm ${STACK} and its volumes`, () => removeStack(() => {}));
  if (made.label && !made.swarm) await attempt('the region label', () => docker(['node', 'update', '--label-rm', 'region', made.nodeId]));
  if (made.swarm) await attempt('docker swarm leave --force', () => docker(['swarm', 'leave', '--force']));
  made.stack = made.label = made.swarm = false;
  process.stdout.write(`\ncleanup: ${lines.length > 0 ? lines.join('; ') : 'nothing to undo'}\n`);
  return ok;
}

async function main(): Promise<void> {
  await steps.step('engine, free ports, a one-node swarm with a region label', prepareSwarm);
  await steps.step('docker compose build; docker stack deploy', buildAndDeploy);
  await steps.step('all five tasks healthy', (note) => waitHealthy(fiveServices, note));
  await steps.step('placement by the region label', checkPlacement);
  await steps.step("the README's curl session", (note) => runCurlSession(REPO_ROOT, note));
  await steps.step(`the experiments in order (NODE_CMD=${NODE_CMD})`, (note) => runExperiments(REPO_ROOT, experimentsEnv(), note));
  const killed = await steps.step("kill of the primary's task under ack=sync writes", killUnderWrites);
  await steps.step(`${NODE_CMD} start ${killed}: a synchronized mirror again`, (note) => startAgain(killed, note));
  await steps.step(`${EXTRA} joins the running cluster`, replica3Joins);
  await steps.step('docker stack rm', async (note) => {
    await removeStack(note);
    made.stack = false;
  });
}

async function run(): Promise<void> {
  let code = 0;
  try {
    await main();
  } catch {
    code = 1;
    const logs = await runCommand('bash', ['-c', `for s in $(docker stack services -q ${STACK}); do docker service logs --no-task-ids --tail 30 "$s" 2>&1; done | sort -k2 | tail -40`], { timeoutMs: 60_000 });
    process.stdout.write(`\nthe services' last log lines:\n${logs.stdout}\n`);
  }
  const cleaned = await cleanup();
  process.stdout.write(steps.summary());
  process.exit(cleaned ? code : 1);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stdout.write(`\n${signal}: stopping, removing what the check made\n`);
    void cleanup().then(() => process.exit(130));
  });
}

void run();
