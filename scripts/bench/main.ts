// `npm run bench [-- --quick] [--json <file>] [--only <sections>] [--profile <node id>] [--stalls]`
//
// What each strategy costs, side by side in one run: starts its own fresh cluster on free ports
// under a temp data root (never a running one), measures the physical floor (loopback round trip,
// fsync), writes per ack level at 1 and 64 clients, latency-injection accuracy, async replication
// lag, catch-up by partial and full resync, memory, and failover time; prints progress on stderr,
// one table on stdout, and keeps the JSON under bench/results/. Exits 1 only when the bench itself
// broke (never for a missed target), 2 on a bad command line. Stops everything it started.

import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { defaultTopology } from '../../shared/topology.ts';
import { BenchCluster } from './cluster.ts';
import { ContentionMonitor } from './contention.ts';
import { parseArgs, USAGE, type BenchOptions, type SectionName } from './options.ts';
import { readMemory } from './proc.ts';
import { Progress } from './progress.ts';
import { renderReport } from './report.ts';
import type { BenchResults, Outcome } from './results.ts';
import { defaultResultsPath, writeResults } from './results-file.ts';
import { runBaselines } from './sections/baselines.ts';
import { runCatchUp } from './sections/catchup.ts';
import { NotAvailable, type SectionContext } from './sections/context.ts';
import { failoverTimeoutMs, runFailover } from './sections/failover.ts';
import { runInjection } from './sections/injection.ts';
import { runLag } from './sections/lag.ts';
import { runMemory } from './sections/memory.ts';
import { runWrites } from './sections/writes.ts';
import { evaluateTargets } from './targets.ts';

const SECTIONS: Record<SectionName, { title: string; run: (ctx: SectionContext) => Promise<unknown> }> = {
  baselines: { title: 'baselines: loopback round trip, fsync', run: runBaselines },
  writes: { title: 'writes per ack level at 1 and 64 clients', run: runWrites },
  injection: { title: 'latency injection accuracy (primary→mirror)', run: runInjection },
  lag: { title: 'replication lag of async replicas at half load', run: runLag },
  catchup: { title: 'catch-up: partial and full resync', run: runCatchUp },
  memory: { title: 'memory of each node', run: runMemory },
  failover: { title: 'failover time over SIGKILLs of the primary', run: runFailover },
};

// Settings the nodes run with that shape the figures; shown in the table and kept in the JSON.
const REPORTED_SETTINGS = ['FSYNC', 'MIRROR_MODE', 'MIRROR_POLICY', 'SYNC_TIMEOUT_MS', 'HEARTBEAT_MS', 'LOG_LEVEL'];

async function main(): Promise<number> {
  const parsed = parseArgs(process.argv.slice(2));
  if (!parsed.ok) {
    process.stderr.write(`${parsed.problem ? `npm run bench: ${parsed.problem}\n` : ''}${USAGE}\n`);
    return parsed.problem ? 2 : 0;
  }
  const options = parsed.options;
  const progress = new Progress();
  const startedAt = new Date();
  const results = newResults(options, startedAt);
  await noteBusyMachine(results, progress);
  const profileDir = options.profileNode ? await mkdtemp(path.join(os.tmpdir(), 'mirrorlab-cpuprof-')) : null;

  const contention = new ContentionMonitor().start();
  progress.section(`starting a fresh cluster (${options.profile.name} run; sections: ${options.sections.join(', ')})`);
  const cluster = await BenchCluster.start({
    serviceEnv: preloadEnv(options, profileDir),
    onUnexpectedExit: (id, description, lastLines) => {
      const note = `${id} ${description} without being asked to`;
      results.notes.push(note);
      progress.warn(`${note}; its last lines:\n      ${lastLines.join('\n      ')}`);
    },
  });
  const stopOnSignal = (signal: NodeJS.Signals) => {
    progress.warn(`${signal}: stopping the cluster`);
    void cluster.close().finally(() => process.exit(130));
  };
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  progress.say(`cluster up on ports ${Object.values(cluster.plan.ports).join(', ')}, data under ${cluster.dataRoot}`);
  try {
    await runSections(cluster, options, results, progress);
  } finally {
    progress.section('stopping the cluster');
    await cluster.close();
    process.removeListener('SIGINT', stopOnSignal);
    process.removeListener('SIGTERM', stopOnSignal);
  }

  results.meta.durationS = Math.round(progress.elapsedMs() / 1000);
  const foreign = await contention.stop();
  if (foreign) {
    results.meta.foreignCpuPercent = foreign.foreignCpuPercent;
    if (foreign.foreignCpuPercent >= 10) {
      results.notes.push(`other processes on this machine used ${foreign.foreignCpuPercent} % of a core on average during the run (up to ${foreign.foreignBusyProcessesMax} busy at once): the figures are pessimistic`);
    }
  }
  return report(results, options, startedAt, profileDir);
}

// Runs the chosen sections in order; one that breaks is recorded and the next one still runs.
async function runSections(cluster: BenchCluster, options: BenchOptions, results: BenchResults, progress: Progress): Promise<void> {
  const rssAtStartMiB: Record<string, number | null> = {};
  for (const id of cluster.dataNodeIds()) rssAtStartMiB[id] = (await readMemory(cluster.pid(id)))?.rssMiB ?? null;
  const ctx: SectionContext = { cluster, profile: options.profile, progress, results: results.sections, rssAtStartMiB, note: (text) => results.notes.push(text) };
  for (const name of options.sections) {
    progress.section(SECTIONS[name].title);
    const sectionStartedMs = performance.now();
    const outcome = await runSection(() => SECTIONS[name].run(ctx));
    (results.sections as Record<string, Outcome<unknown>>)[name] = outcome;
    const warnings = cluster.warningsSince(sectionStartedMs);
    if (warnings.length > 0) {
      results.notes.push(`${name}: the nodes logged ${warnings.slice(0, 8).join('; ')}${warnings.length > 8 ? `; and ${warnings.length - 8} more kinds` : ''}`);
    }
    if (outcome.status === 'n/a') progress.say(`n/a (${outcome.reason})`);
    if (outcome.status === 'broken') {
      progress.warn(`section ${name} broke: ${outcome.error}`);
      for (const id of cluster.dataNodeIds()) progress.warn(`${id}'s last lines:\n      ${cluster.logs(id).slice(-8).join('\n      ')}`);
    }
  }
}

// Prints the table, keeps the JSON; the exit code says whether the bench itself broke.
async function report(results: BenchResults, options: BenchOptions, startedAt: Date, profileDir: string | null): Promise<number> {
  const targets = evaluateTargets(results);
  process.stdout.write(`\n${renderReport(results, targets)}\n`);
  const file = await writeResults(options.jsonPath ?? defaultResultsPath(startedAt, options.profile.name), results, targets);
  process.stderr.write(`\nresults kept in ${file}\n`);
  if (profileDir) process.stderr.write(`CPU profile of ${options.profileNode} in ${profileDir} (summary: node --import tsx scripts/bench/profile-summary.ts <file>; or open it in Chrome DevTools)\n`);
  const broken = Object.entries(results.sections).filter(([, o]) => o?.status === 'broken').map(([name]) => name);
  if (broken.length > 0) process.stderr.write(`the bench broke in: ${broken.join(', ')}\n`);
  return broken.length > 0 ? 1 : 0;
}

// The load average lags by a minute; more runnable work than cores, or another Node process (a
// cluster, a test run) at the start, is worth a warning. What other processes actually used during
// the run is measured (ContentionMonitor) and reported at the end.
async function noteBusyMachine(results: BenchResults, progress: Progress): Promise<void> {
  results.meta.foreignNodeProcesses = await countOtherNodeProcesses();
  if (results.meta.loadAverageAtStart <= os.cpus().length && results.meta.foreignNodeProcesses === 0) return;
  const note = `the machine was busy when the run started (load average ${results.meta.loadAverageAtStart}, ${results.meta.foreignNodeProcesses} other node processes): figures may be worse than this code can do`;
  results.notes.push(note);
  progress.warn(note);
}

// Preloads per data node: the CPU profiler for --profile <id>, the stall watch for --stalls. Node
// 20 refuses --cpu-prof and --trace-gc in NODE_OPTIONS, so both start from inside instead.
function preloadEnv(options: BenchOptions, profileDir: string | null): Record<string, Record<string, string>> {
  const preload = (file: string) => `--import ${pathToFileURL(fileURLToPath(new URL(file, import.meta.url))).href}`;
  const env: Record<string, Record<string, string>> = {};
  for (const id of defaultTopology.filter((s) => s.kind === 'node').map((s) => s.id)) {
    const imports: string[] = [];
    if (options.watchStalls) imports.push(preload('./stall-watch-preload.mjs'));
    if (options.profileNode === id && profileDir) imports.push(preload('./cpu-profile-preload.mjs'));
    if (imports.length === 0) continue;
    env[id] = { NODE_OPTIONS: [process.env.NODE_OPTIONS ?? '', ...imports].join(' ').trim() };
    if (options.profileNode === id && profileDir) env[id].MIRRORLAB_CPU_PROFILE_DIR = profileDir;
  }
  return env;
}

// Node processes on this machine that are not this bench (another cluster, a test run): they
// compete for the same cores. Linux only; 0 elsewhere.
async function countOtherNodeProcesses(): Promise<number> {
  try {
    let count = 0;
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
      const comm = await readFile(`/proc/${entry}/comm`, 'utf8').catch(() => '');
      if (comm.trim() === 'node') count++;
    }
    return count;
  } catch {
    return 0;
  }
}

async function runSection(run: () => Promise<unknown>): Promise<Outcome<any>> {
  try {
    return { status: 'ok', data: await run() };
  } catch (error) {
    if (error instanceof NotAvailable) return { status: 'n/a', reason: error.message };
    return { status: 'broken', error: error instanceof Error ? error.stack ?? error.message : String(error) };
  }
}

function newResults(options: BenchOptions, startedAt: Date): BenchResults {
  const cpus = os.cpus();
  const settings: Record<string, string> = { FAILOVER_TIMEOUT_MS: String(failoverTimeoutMs()) };
  if (options.watchStalls) settings.stallWatch = 'on';
  for (const name of REPORTED_SETTINGS) if (process.env[name]) settings[name] = process.env[name] as string;
  return {
    meta: {
      startedAt: startedAt.toISOString(),
      profile: options.profile.name,
      durationS: 0,
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
      cpus: cpus.length,
      cpuModel: cpus[0]?.model.trim() ?? 'unknown',
      memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
      loadAverageAtStart: Math.round((os.loadavg()[0] ?? 0) * 100) / 100,
      foreignNodeProcesses: 0,
      foreignCpuPercent: null,
      settings,
      profiledNode: options.profileNode,
    },
    sections: {},
    notes: [],
  };
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`npm run bench: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
    process.exit(1);
  },
);
