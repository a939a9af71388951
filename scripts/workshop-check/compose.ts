// `npm run test:compose`: the workshop on a real Docker engine (SPEC §7, issue 12). It does what the
// README's Docker instructions tell a participant to do, in a compose project of its own
// (`mirrorlab-check`, image `mirrorlab:check`) on the workshop's host ports 7000-7005:
//   build and `up`, all five healthy, the README's curl session, the experiments in order,
//   POST /cluster/reset, all of them again, `docker compose kill` of the primary under ack=sync writes
//   (first write at the new epoch within FAILOVER_TIMEOUT_MS + 1 s, none lost), `start` (the old
//   primary is a synchronized mirror again), `up -d`, `up -d <id>` and the replica-3 profile
//   recreating nothing, `down` + `up` keeping the data.
// Each step prints what it saw and its time; the list of steps ends the run. Whatever happens, the
// project is removed at the end (`down -v` of its own name only). It needs an engine, so CI does
// not run it: `../shared/tools/docker-engine up` provides one here. Exit 0 when every step passed.

import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../lib/cluster-processes.ts';
import { limits } from '../../shared/limits.ts';
import { defaultTopology, launcherTopology } from '../../shared/topology.ts';
import { describeResult, runCommand } from './command.ts';
import { ComposeProject, dockerTimeMs, type ContainerState } from './compose-project.ts';
import { runCurlSession } from './curl-session.ts';
import { runExperiments } from './experiments.ts';
import { killPrimaryUnderWrites } from './failover.ts';
import { call, getOk, waitUntil } from './http.ts';
import { CheckSteps, seconds, type Note } from './steps.ts';
import { portIsFree } from '../lib/free-ports.ts';
import { waitJoined } from './join.ts';

const PROJECT = 'mirrorlab-check';
const IMAGE = 'mirrorlab:check';
const EXTRA = 'replica-3';

// Compose's start_period is 30 s and a first start is quicker; twice that is a hung service.
const HEALTHY_TIMEOUT_MS = 120_000;
// The rejoined old primary copies what it missed, then synchronizes.
const REJOIN_TIMEOUT_MS = 60_000;
const JOIN_TIMEOUT_MS = 60_000;
const STEADY_TIMEOUT_MS = 60_000;
const RESET_TIMEOUT_MS = limits.resetMsMax + 15_000;
const REQUEST_TIMEOUT_MS = 5_000;
const ENGINE_TIMEOUT_MS = 20_000;
const LOG_TAIL_LINES = 200;

const urls = Object.fromEntries(launcherTopology.map((s) => [s.id, `http://127.0.0.1:${s.port}`]));
const controlUrl = urls.control as string;
const fiveServices = defaultTopology.map((s) => s.id);
const fourNodes = defaultTopology.filter((s) => s.kind === 'node').map((s) => s.id);

const project = new ComposeProject(REPO_ROOT, PROJECT, IMAGE);
const outDir = mkdtempSync(path.join(os.tmpdir(), 'mirrorlab-compose-check-'));
const steps = new CheckSteps(`npm run test:compose: project ${PROJECT}, image ${IMAGE}, output kept in ${outDir}`);


async function checkEngine(note: Note): Promise<void> {
  const engine = await runCommand('docker', ['version', '--format', '{{.Server.Version}}'], { timeoutMs: ENGINE_TIMEOUT_MS });
  if (engine.code !== 0) throw new Error(`${describeResult('docker version', engine)}\nno Docker engine answers: start one (here: ../shared/tools/docker-engine up)`);
  const composeVersion = await runCommand('docker', ['compose', 'version', '--short'], { timeoutMs: ENGINE_TIMEOUT_MS });
  if (composeVersion.code !== 0) throw new Error(`${describeResult('docker compose version', composeVersion)}\nthe Compose v2 plugin is missing`);
  note(`Docker Engine ${engine.stdout.trim()}, Compose ${composeVersion.stdout.trim()}`);
  if ((await project.containers()).size > 0) {
    note(`a ${PROJECT} project was left by an earlier run: removing it (docker compose -p ${PROJECT} down -v)`);
    await project.run(['--profile', 'extra', 'down', '-v', '--remove-orphans']);
  }
  const busy: string[] = [];
  for (const spec of launcherTopology) if (!(await portIsFree(spec.port))) busy.push(`${spec.port} (${spec.id})`);
  if (busy.length > 0) throw new Error(`ports held on 127.0.0.1: ${busy.join(', ')}; the compose cluster publishes them. Stop what holds them (ss -ltnp | grep :700; docker compose ps; a forgotten npm start)`);
  note(`ports ${launcherTopology.map((s) => s.port).join(', ')} are free on 127.0.0.1`);
}

async function waitHealthy(services: readonly string[], note: Note): Promise<Map<string, ContainerState>> {
  const startedMs = Date.now();
  const states = await waitUntil(`${services.join(', ')} to be running and healthy`, HEALTHY_TIMEOUT_MS, async () => {
    const all = await project.containers();
    const notYet = services.filter((id) => !all.get(id)?.running || all.get(id)?.health !== 'healthy');
    if (notYet.length > 0) throw new Error(`not healthy yet: ${notYet.map((id) => `${id} (${all.get(id)?.health ?? 'no container'})`).join(', ')}`);
    return all;
  }, 500);
  note(`${services.join(', ')} healthy (${seconds(Date.now() - startedMs)} after the command returned)`);
  return states;
}

// A primary named by control whose sync mirror is synchronized, and every other data node of
// `nodes` a connected replica of it. Which node holds which role is whatever the failovers left.
async function waitSteady(what: string, nodes: readonly string[], note: Note): Promise<{ primary: string; status: any }> {
  const found = await waitUntil(what, STEADY_TIMEOUT_MS, async () => {
    const view = await getOk(`${controlUrl}/cluster`, REQUEST_TIMEOUT_MS);
    if (!view.primary) throw new Error('control names no primary');
    const status = await getOk(`${urls[view.primary]}/status`, REQUEST_TIMEOUT_MS);
    if (status.mirror?.state !== 'synchronized') throw new Error(`the mirror of ${view.primary} is ${JSON.stringify(status.mirror)}`);
    const connected = (status.replicas as any[]).filter((r) => r.connected).map((r) => r.id);
    const missing = nodes.filter((id) => id !== view.primary && id !== status.mirror.id && !connected.includes(id));
    if (missing.length > 0) throw new Error(`replicas not connected to ${view.primary}: ${missing.join(', ')}`);
    return { primary: view.primary as string, status };
  });
  note(`${found.primary} is the primary at epoch ${found.status.epoch}, LSN ${found.status.lsn}; mirror ${found.status.mirror.id} synchronized; replicas ${nodes.filter((id) => id !== found.primary && id !== found.status.mirror.id).join(', ')} connected`);
  return found;
}

function experimentsEnv(): NodeJS.ProcessEnv {
  const byId = Object.fromEntries(Object.entries(urls).map(([id, url]) => [id.toUpperCase().replace(/-/g, '_'), url]));
  return { ...project.env, ...byId, NODE_CMD: 'docker compose', EXPERIMENTS_OUT: path.join(outDir, 'experiments'), NO_COLOR: '1' };
}

async function reset(note: Note): Promise<void> {
  const answer = await call('POST', `${controlUrl}/cluster/reset`, undefined, RESET_TIMEOUT_MS);
  if (answer.status !== 200) throw new Error(`POST /cluster/reset answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  for (const s of answer.body.steps as Array<{ step: string; detail: string }>) note(`${s.step}: ${s.detail}`);
  if (answer.body.primary !== 'primary' || answer.body.mirror !== 'mirror') throw new Error(`after the reset the primary is ${answer.body.primary} and the mirror ${answer.body.mirror}`);
  const view = await getOk(`${controlUrl}/cluster`, REQUEST_TIMEOUT_MS);
  if (view.primary !== 'primary' || view.faults.length !== 0) throw new Error(`control's view after the reset: primary ${view.primary}, ${view.faults.length} faults`);
  note(`reset done in ${seconds(answer.body.tookMs)}: primary "primary", mirror "mirror", epoch ${answer.body.epoch}, no fault`);
}

async function killUnderWrites(note: Note): Promise<string> {
  const config = await project.config();
  const failoverTimeoutMs = Number(config.services.mirror.environment.FAILOVER_TIMEOUT_MS);
  const outcome = await killPrimaryUnderWrites(controlUrl, {
    urls,
    failoverTimeoutMs,
    keyPrefix: `compose-check/failover/${Date.now()}`,
    kill: async (id) => {
      note(`$ docker compose kill ${id}`);
      await project.run(['kill', id]);
      const state = (await project.containers()).get(id);
      if (!state || state.running) throw new Error(`${id} still runs after docker compose kill`);
      return dockerTimeMs(state.finishedAt);
    },
  }, note);
  return outcome.oldPrimary;
}

async function startAgain(id: string, note: Note): Promise<void> {
  note(`$ docker compose start ${id}`);
  await project.run(['start', id]);
  await waitUntil(`${id} to be the synchronized mirror of the primary`, REJOIN_TIMEOUT_MS, async () => {
    const view = await getOk(`${controlUrl}/cluster`, REQUEST_TIMEOUT_MS);
    const status = await getOk(`${urls[view.primary]}/status`, REQUEST_TIMEOUT_MS);
    if (status.mirror?.id !== id || status.mirror.state !== 'synchronized') throw new Error(`the mirror of ${view.primary}: ${JSON.stringify(status.mirror)}`);
    return true;
  });
  note(`${id} is back as the synchronized mirror`);
  await waitHealthy([id], note);
}

// The identity of each running container: a recreated one has a new id, a restarted one a new start.
function identities(states: Map<string, ContainerState>, services: readonly string[]): Record<string, string> {
  return Object.fromEntries(services.map((id) => {
    const s = states.get(id);
    return [id, s ? `${s.id.slice(0, 12)} created ${s.created} started ${s.startedAt} image ${s.image.replace('sha256:', '').slice(0, 12)}` : 'no container'];
  }));
}

async function upRecreatesNothing(note: Note): Promise<void> {
  const before = identities(await project.containers(), fiveServices);
  const commands: string[][] = [['up', '-d'], ['up', '-d', 'primary'], ['--profile', 'extra', 'up', '-d', EXTRA], ['--profile', 'extra', 'up', '-d']];
  for (const args of commands) {
    const result = await project.build(args);
    const recreated = `${result.stdout}${result.stderr}`.split('\n').filter((line) => /Recreate|Restarting/.test(line));
    note(`$ docker compose ${args.join(' ')}  (${seconds(result.tookMs)})${recreated.length > 0 ? `: ${recreated.join('; ')}` : ''}`);
    const now = identities(await project.containers(), fiveServices);
    const changed = fiveServices.filter((id) => now[id] !== before[id]);
    if (changed.length > 0) {
      // A new image id means the sources the image copies changed since the first build: then a
      // recreation is right, and the check was disturbed (an edit during the run).
      const rebuilt = changed.some((id) => before[id]?.split(' image ')[1] !== now[id]?.split(' image ')[1]);
      throw new Error(`docker compose ${args.join(' ')} recreated or restarted ${changed.map((id) => `${id}: ${before[id]} -> ${now[id]}`).join('; ')}${rebuilt ? '; the image id changed: were shared/, services/ or package*.json edited during the run?' : ''}`);
    }
  }
  note(`the five containers kept their ids, creation and start times: ${fiveServices.map((id) => `${id} ${before[id]?.slice(0, 12)}`).join(', ')}`);
  const extra = (await project.containers()).get(EXTRA);
  if (!extra?.running) throw new Error(`${EXTRA} does not run after --profile extra up -d ${EXTRA}`);
}

async function replica3Joins(note: Note): Promise<void> {
  await waitHealthy([EXTRA], note);
  await waitJoined({ id: EXTRA, controlUrl, urls, timeoutMs: JOIN_TIMEOUT_MS, requestTimeoutMs: REQUEST_TIMEOUT_MS }, note);
}

async function downUpKeepsData(note: Note): Promise<void> {
  const { primary } = await waitSteady('a steady cluster before down', [...fourNodes, EXTRA], note);
  const marker = { run: path.basename(outDir), at: new Date().toISOString() };
  const write = await call('PUT', `${urls[primary]}/kv/compose-check/marker?ack=all`, marker, REQUEST_TIMEOUT_MS);
  if (write.status !== 200) throw new Error(`the marker write answered ${write.status}: ${JSON.stringify(write.body)}`);
  const before = await getOk(`${urls[primary]}/status`, REQUEST_TIMEOUT_MS);
  note(`marker written at LSN ${write.body.lsn} (ack=all); ${primary} holds ${before.keys} keys at LSN ${before.lsn}, epoch ${before.epoch}`);
  note('$ docker compose --profile extra down');
  await project.run(['--profile', 'extra', 'down']);
  if ((await project.containers()).size > 0) throw new Error('containers left after down');
  const volumes = await project.volumes();
  note(`no container left; ${volumes.length} volumes kept: ${volumes.join(', ')}`);
  note('$ docker compose up -d');
  await project.build(['up', '-d']);
  await waitHealthy(fiveServices, note);
  const after = await waitSteady('a steady cluster after up', fourNodes, note);
  const read = await getOk(`${urls[after.primary]}/kv/compose-check/marker`, REQUEST_TIMEOUT_MS);
  if (JSON.stringify(read.value) !== JSON.stringify(marker)) throw new Error(`the marker reads ${JSON.stringify(read.value)}, expected ${JSON.stringify(marker)}`);
  if (after.status.lsn < before.lsn || after.status.keys < before.keys || after.status.epoch < before.epoch) {
    throw new Error(`after down/up the primary has LSN ${after.status.lsn}, ${after.status.keys} keys, epoch ${after.status.epoch}; before: LSN ${before.lsn}, ${before.keys} keys, epoch ${before.epoch}`);
  }
  // replica-3 was running before `down`: control remembers it as a member, and `up -d` (no
  // profile) does not start it. Bring it back too, on its kept volume, so every copy is compared.
  note(`$ docker compose --profile extra up -d ${EXTRA}`);
  await project.build(['--profile', 'extra', 'up', '-d', EXTRA]);
  await waitHealthy([EXTRA], note);
  await waitSteady(`${EXTRA} connected again`, [...fourNodes, EXTRA], note);
  const verify = await waitUntil('GET /cluster/verify to match every copy', STEADY_TIMEOUT_MS, async () => {
    const v = await getOk(`${controlUrl}/cluster/verify`, REQUEST_TIMEOUT_MS);
    const copies = Object.entries(v.copies as Record<string, { match: boolean; reason?: string }>);
    if (!v.match || v.unreachable.length > 0 || copies.length !== fourNodes.length) {
      throw new Error(`unreachable: ${JSON.stringify(v.unreachable)}; copies: ${copies.map(([id, c]) => `${id} ${c.match ? 'match' : `differs${c.reason ? ` (${c.reason})` : ''}`}`).join(', ')}`);
    }
    return v;
  });
  note(`the marker reads back from ${after.primary}; LSN ${after.status.lsn}, ${after.status.keys} keys; /cluster/verify matches ${Object.keys(verify.copies).join(', ')} at LSN ${verify.lsn}`);
}

// `docker compose logs` groups lines by service; a failure reads best with every service's lines
// in time order ("control-1  | 2026-01-01T00:00:00.000000000Z {...}").
function lastByTime(logs: string, count: number): string {
  const stamp = (line: string) => /\|\s(\S+)/.exec(line)?.[1] ?? '';
  return logs.trim().split('\n').sort((a, b) => stamp(a).localeCompare(stamp(b))).slice(-count).join('\n');
}

async function saveLogs(): Promise<void> {
  const logs = await project.tryRun(['--profile', 'extra', 'logs', '--no-color', '--timestamps', '--tail', String(LOG_TAIL_LINES)]);
  const file = path.join(outDir, 'compose-logs.txt');
  // Compose 2.26 writes an erase-line escape before each line even with --ansi never.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: it removes terminal escapes, which start with ESC.
  const text = logs.stdout.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '');
  writeFileSync(file, `${text}${logs.stderr}`);
  process.stdout.write(`\nthe services' last ${LOG_TAIL_LINES} log lines each are in ${file}; the last of them all, by time:\n${lastByTime(text, 40)}\n`);
}

let cleanedUp = false;
async function cleanup(): Promise<boolean> {
  if (cleanedUp) return true;
  cleanedUp = true;
  const down = await project.tryRun(['--profile', 'extra', 'down', '-v', '--remove-orphans']);
  const left = down.code === 0 ? await project.containers().catch(() => new Map()) : new Map();
  const ok = down.code === 0 && left.size === 0;
  process.stdout.write(`\ncleanup: docker compose -p ${PROJECT} --profile extra down -v --remove-orphans: ${ok ? `done in ${seconds(down.tookMs)}` : describeResult('down', down)}\n`);
  return ok;
}

async function main(): Promise<number> {
  await steps.step('engine, compose and free ports', checkEngine);
  await steps.step('docker compose up --build -d', async (note) => {
    const result = await project.build(['up', '--build', '-d']);
    note(`built ${IMAGE} and started the project in ${seconds(result.tookMs)}`);
  });
  await steps.step('all five healthy', (note) => waitHealthy(fiveServices, note));
  await steps.step("the README's curl session", (note) => runCurlSession(REPO_ROOT, note));
  await steps.step('the experiments in order (NODE_CMD="docker compose")', (note) => runExperiments(REPO_ROOT, experimentsEnv(), note));
  await steps.step('POST /cluster/reset', reset);
  await steps.step('the experiments again', (note) => runExperiments(REPO_ROOT, experimentsEnv(), note));
  const killed = await steps.step('docker compose kill of the primary under ack=sync writes', killUnderWrites);
  await steps.step(`docker compose start ${killed}: a synchronized mirror again`, (note) => startAgain(killed, note));
  await steps.step(`up -d, up -d primary, --profile extra up -d ${EXTRA}: nothing recreated`, upRecreatesNothing);
  await steps.step(`${EXTRA} joins the running cluster`, replica3Joins);
  await steps.step('down + up keeps the data', downUpKeepsData);
  return 0;
}

async function run(): Promise<void> {
  let code = 1;
  try {
    code = await main();
  } catch {
    // The step already printed its failure; the logs say why.
    await saveLogs();
  }
  const cleaned = await cleanup();
  process.stdout.write(steps.summary());
  process.exit(cleaned ? code : 1);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stdout.write(`\n${signal}: stopping, removing the ${PROJECT} project\n`);
    void cleanup().then(() => process.exit(130));
  });
}

void run();
