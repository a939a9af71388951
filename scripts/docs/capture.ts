// `npm run docs:capture`: runs what the docs show on a fresh cluster and writes its real output into
// the pages, between capture markers (scripts/docs/capture-blocks.ts). In this order, as a
// participant meets them: the README's first session on the fresh cluster, then every experiment
// (scripts/experiments/NN-*.sh) in order with `npm run reset` before each, then every other session
// block of docs/, each after a reset. Nothing is written unless everything ran: a failed experiment
// or command stops the capture with its output and leaves the pages as they were.
//
//   npm run docs:capture                     on free ports (output rewritten to 7000–7005)
//   npm run docs:capture -- --default-ports  on 7000–7005 themselves (they must be free)
//   npm run docs:capture -- --only 07,08,reset   only these blocks: experiments by number, sessions by name
//
// The cluster is started by `npm start`'s own launcher with a temp data root, and stopped at the end.

import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../lib/cluster-processes.ts';
import { launchCluster, type LaunchedCluster } from '../lib/launched-cluster.ts';
import { findBlocks, rewriteBlocks, sessionCommands, sessionLines, toCapturePorts, toDefaults, type CapturedBlock } from './capture-blocks.ts';
import { tryGetJson } from '../lib/json-http.ts';

const EXPERIMENT_TIMEOUT_MS = 120_000;
const SESSION_TIMEOUT_MS = 120_000;
const RESET_TIMEOUT_MS = 90_000;
const MEMBERS_UP_TIMEOUT_MS = 30_000;
// Printed between two commands of a session, to split its output per command.
const SEPARATOR = '@@mirrorlab-capture-next-command@@';
// The README's session runs first, on the fresh cluster (its answers name LSN 1, epoch 1).
const FIRST_SESSION = 'first-session';

interface Run {
  code: number | null;
  output: string;
}

function run(command: string, args: string[], env: Record<string, string>, timeoutMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      output += `\n[capture] still running after ${timeoutMs} ms: killed\n`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

interface Capture {
  cluster: LaunchedCluster;
  experimentsOut: string;
  env: Record<string, string>;
}

function clusterEnv(cluster: LaunchedCluster, experimentsOut: string): Record<string, string> {
  const urls = Object.fromEntries(Object.entries(cluster.urls).map(([id, url]) => [id.toUpperCase().replace(/-/g, '_'), url]));
  // NODE_CMD names the launcher: a compose project running on this machine must never be touched.
  return { ...urls, ...cluster.env(), CONTROL_URL: cluster.urls.control as string, NODE_CMD: 'npm run node --', EXPERIMENTS_OUT: experimentsOut };
}

function defaults(capture: Capture, text: string): string {
  return toDefaults(text, { portBase: capture.cluster.portBase, dataRoot: capture.cluster.dataRoot, experimentsOut: capture.experimentsOut });
}

// Before a reset: every member answers /health. A block may end right after starting or crashing
// a node (the launcher restarts a crashed one), and a reset lists a node that is still booting as
// one to start by hand.
async function membersUp(capture: Capture): Promise<void> {
  const deadline = Date.now() + MEMBERS_UP_TIMEOUT_MS;
  let down: string[] = [];
  while (Date.now() < deadline) {
    const members = (await getJson(`${capture.cluster.urls.control}/cluster/members`)).body?.members ?? [];
    down = [];
    for (const member of members as Array<{ id: string; publicUrl: string }>) {
      if ((await getJson(`${member.publicUrl}/health`)).status !== 200) down.push(member.id);
    }
    if (members.length > 0 && down.length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`not answering /health ${MEMBERS_UP_TIMEOUT_MS} ms after the last block: ${down.join(', ') || 'control'}\n${launcherTail(capture)}`);
}

function launcherTail(capture: Capture): string {
  return `--- launcher (last lines) ---\n${capture.cluster.output().split('\n').slice(-80).join('\n')}`;
}

// Polls never throw: a node that does not answer is status 0.
const getJson = (url: string) => tryGetJson(url, 1000);

async function reset(capture: Capture): Promise<void> {
  await membersUp(capture);
  const result = await run('npm', ['run', '--silent', 'reset'], capture.env, RESET_TIMEOUT_MS);
  if (result.code !== 0) throw new Error(`npm run reset failed:\n${result.output}\n${launcherTail(capture)}`);
}

async function captureExperiment(capture: Capture, name: string): Promise<string[]> {
  const started = Date.now();
  const result = await run('bash', [path.join('scripts/experiments', `${name}.sh`)], capture.env, EXPERIMENT_TIMEOUT_MS);
  if (result.code !== 0) throw new Error(`${name} exited ${result.code}:\n${result.output}\n${launcherTail(capture)}`);
  process.stderr.write(`captured ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
  // The run's directory name holds the time it ran: the page names it by experiment only.
  return defaults(capture, result.output).replace(/\.experiments\/\d{8}-\d{6}-/g, '.experiments/<time>-').replace(/\n+$/, '').split('\n');
}

// Runs a session's commands in one bash (so variables carry over), split per command.
async function captureSession(capture: Capture, block: CapturedBlock): Promise<string[]> {
  const commands = sessionCommands(block);
  const script = commands.map((c) => `${toCapturePorts(c, capture.cluster.portBase)}\nprintf '\\n${SEPARATOR}\\n'`).join('\n');
  const file = path.join(capture.experimentsOut, `${block.name}.sh`);
  await writeFile(file, `exec 2>&1\n${script}\n`);
  const result = await run('bash', [file], capture.env, SESSION_TIMEOUT_MS);
  const outputs = defaults(capture, result.output).split(`\n${SEPARATOR}\n`);
  if (outputs.length < commands.length + 1) throw new Error(`session ${block.name} stopped after ${outputs.length - 1} of ${commands.length} commands:\n${result.output}`);
  process.stderr.write(`captured session ${block.name} (${commands.length} commands)\n`);
  return sessionLines(block, outputs);
}

async function pages(): Promise<string[]> {
  const docs = async (dir: string): Promise<string[]> => {
    const entries = await readdir(path.join(REPO_ROOT, dir), { withFileTypes: true });
    const nested = await Promise.all(entries.map((e) => (e.isDirectory() ? docs(path.join(dir, e.name)) : Promise.resolve(e.name.endsWith('.md') ? [path.join(dir, e.name)] : []))));
    return nested.flat();
  };
  return ['README.md', ...(await docs('docs')).sort()];
}

function parseArgs(argv: string[]): { defaultPorts: boolean; only: string[] | null } {
  const onlyAt = argv.indexOf('--only');
  const only = onlyAt >= 0 ? (argv[onlyAt + 1] ?? '').split(',').filter(Boolean) : null;
  const known = new Set(['--default-ports', '--only', ...(only ? [argv[onlyAt + 1]] : [])]);
  const unknown = argv.filter((a) => !known.has(a));
  if (unknown.length > 0 || (only && only.length === 0)) {
    process.stderr.write('usage: npm run docs:capture [-- --default-ports] [-- --only 01,07,first-session]\n');
    process.exit(2);
  }
  return { defaultPorts: argv.includes('--default-ports'), only };
}

async function main(): Promise<void> {
  const { defaultPorts, only } = parseArgs(process.argv.slice(2));
  const texts = new Map<string, string>();
  for (const page of await pages()) texts.set(page, await readFile(path.join(REPO_ROOT, page), 'utf8'));
  const blocks = [...texts.entries()].flatMap(([page, text]) => findBlocks(text).map((block) => ({ page, block })));
  const wanted = (block: CapturedBlock) => !only || only.some((n) => block.name === n || (block.kind === 'experiment' && block.name.startsWith(n)));
  const experiments = blocks.filter((b) => b.block.kind === 'experiment' && wanted(b.block)).sort((a, b) => a.block.name.localeCompare(b.block.name));
  const sessions = blocks.filter((b) => b.block.kind === 'session' && wanted(b.block));
  const first = sessions.filter((b) => b.block.name === FIRST_SESSION);
  const others = sessions.filter((b) => b.block.name !== FIRST_SESSION);

  const experimentsOut = await mkdtemp(path.join(os.tmpdir(), 'mirrorlab-capture-'));
  const cluster = await launchCluster(defaultPorts ? { portBase: 7000 } : {});
  const capture: Capture = { cluster, experimentsOut, env: clusterEnv(cluster, experimentsOut) };
  process.stderr.write(`cluster up on ports ${cluster.portBase}-${cluster.portBase + 5}\n`);
  // By page, kind and name: the pages are read again before writing, so edits made meanwhile stay.
  const captured = new Map<string, string[]>();
  const key = (page: string, block: Pick<CapturedBlock, 'kind' | 'name'>) => `${page}|${block.kind}|${block.name}`;
  try {
    for (const { page, block } of first) captured.set(key(page, block), await captureSession(capture, block));
    for (const { page, block } of experiments) {
      await reset(capture);
      captured.set(key(page, block), await captureExperiment(capture, block.name));
    }
    for (const { page, block } of others) {
      await reset(capture);
      captured.set(key(page, block), await captureSession(capture, block));
    }
  } finally {
    await cluster.stop();
    await rm(experimentsOut, { recursive: true, force: true });
  }
  for (const page of texts.keys()) {
    const text = await readFile(path.join(REPO_ROOT, page), 'utf8');
    const next = rewriteBlocks(text, (block) => captured.get(key(page, block)));
    if (next !== text) {
      await writeFile(path.join(REPO_ROOT, page), next);
      process.stderr.write(`wrote ${page}\n`);
    }
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`npm run docs:capture: ${(error as Error).message}\n`);
  process.exit(1);
});
