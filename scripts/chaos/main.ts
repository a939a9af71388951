// `npm run chaos -- --duration <s> --seed <n> [--nemesis kill,pause,partition,latency,loss,crash]
// [--concurrency <n>] [--settle <s>] [--out <dir>]`
//
// A Jepsen-style run: a fresh cluster of its own (free ports, data and logs under
// .chaos/<timestamp>/), concurrent clients writing unique keys under every ack level and reading
// them back from replicas and the primary, a seeded nemesis of kills, crashes, pauses, partitions,
// latency and loss, then heal, converge, and check the history. Prints the schedule at the start and
// a verdict table at the end; exits 0 when the guarantees held, 1 when one broke (an ack=sync or
// ack=all write lost, two writers in an epoch, copies that did not converge, ...), 2 on a bad command
// line, 3 when the run itself broke. Bounded: duration + settle + a fixed margin. Stops everything.

import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from '../lib/cluster-processes.ts';
import { CONTROL_ID, defaultTopology } from '../../shared/topology.ts';
import { checkHistory, type CheckResult } from './checker.ts';
import { RunClock } from './clock.ts';
import { ChaosCluster } from './cluster.ts';
import { Http, sleep } from './http.ts';
import { JsonLines } from './json-lines.ts';
import { Nemesis } from './nemesis.ts';
import { Observer } from './observer.ts';
import { type ChaosOptions, parseArgs, USAGE } from './options.ts';
import { renderReport, type ReportMeta } from './report.ts';
import { formatSchedule, generateSchedule, type NemesisStep } from './schedule.ts';
import { readRollbackFiles, settle } from './settle.ts';
import { Workload, workloadLimits } from './workload.ts';

export const runLimits = {
  // Time for the cluster to start and its mirror to synchronize before the clients begin.
  readyTimeoutMs: 30_000,
  // Beyond duration + settle: the nemesis's last step (restart included), stopping the processes.
  hardMarginMs: 120_000,
} as const;

export const EXIT = { pass: 0, violation: 1, usage: 2, broken: 3, interrupted: 130 } as const;

function say(clock: RunClock | null, text: string): void {
  const at = clock ? `${(clock.now() / 1000).toFixed(1).padStart(6, ' ')} s` : ' setup ';
  process.stderr.write(`[chaos ${at}] ${text}\n`);
}

export async function runChaos(options: ChaosOptions): Promise<number> {
  const runDir = path.resolve(options.outDir ?? path.join(REPO_ROOT, '.chaos', new Date().toISOString().replace(/[:.]/g, '-')));
  await mkdir(runDir, { recursive: true });
  const durationMs = options.durationS * 1000;
  const http = new Http();
  let clock: RunClock | null = null;
  const note = (text: string) => say(clock, text);
  let cluster: ChaosCluster | null = null;
  const files: JsonLines[] = [];
  const watchdog = setTimeout(() => {
    note(`the run exceeded its bound (${options.durationS} s + ${options.settleS} s settle + ${runLimits.hardMarginMs / 1000} s); stopping everything`);
    process.exit(EXIT.broken);
  }, durationMs + options.settleS * 1000 + runLimits.hardMarginMs);
  const interrupt = (signal: NodeJS.Signals) => {
    note(`${signal}: stopping the cluster`);
    void (cluster?.close() ?? Promise.resolve()).finally(() => process.exit(EXIT.interrupted));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    const names = [...defaultTopology.filter((s) => s.kind === 'node').map((s) => s.id), CONTROL_ID];
    const steps = generateSchedule({ seed: options.seed, durationMs, kinds: options.nemesis, names });
    await writeFile(path.join(runDir, 'schedule.json'), `${JSON.stringify({ seed: options.seed, durationMs, nemesis: options.nemesis, steps }, null, 2)}\n`);
    process.stdout.write(`mirrorlab chaos: seed ${options.seed}, ${options.durationS} s, nemesis ${options.nemesis.join(',') || 'none'}, ${options.concurrency} clients\nschedule (same seed, same schedule):\n${formatSchedule(steps)}\n\n`);
    note(`starting a fresh cluster under ${runDir}`);
    cluster = await ChaosCluster.start(runDir, http, note);
    await waitReady(cluster, http);
    const open = (name: string) => {
      const file = new JsonLines(path.join(runDir, name));
      files.push(file);
      return file;
    };
    clock = new RunClock();
    const result = await runAndCheck({ options, cluster, http, clock, steps, open, note });
    const meta: ReportMeta = { seed: options.seed, durationS: options.durationS, nemesis: options.nemesis, concurrency: options.concurrency, runDir, stepsPlanned: steps.length, stepsRun: result.stepsRun };
    const text = renderReport(result.check, meta);
    await writeFile(path.join(runDir, 'report.txt'), `${text}\n`);
    await writeFile(path.join(runDir, 'report.json'), `${JSON.stringify({ meta, ...result.check }, null, 1)}\n`);
    process.stdout.write(`${text}\n`);
    return result.check.pass ? EXIT.pass : EXIT.violation;
  } catch (error) {
    note(`the run broke: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return EXIT.broken;
  } finally {
    clearTimeout(watchdog);
    note('stopping the cluster');
    await cluster?.close();
    await Promise.all(files.map((f) => f.close()));
    await http.close();
    process.removeListener('SIGINT', interrupt);
    process.removeListener('SIGTERM', interrupt);
  }
}

interface RunContext {
  options: ChaosOptions;
  cluster: ChaosCluster;
  http: Http;
  clock: RunClock;
  steps: readonly NemesisStep[];
  open: (name: string) => JsonLines;
  note: (text: string) => void;
}

// Clients and nemesis for the duration, then settle, then the checker.
async function runAndCheck(ctx: RunContext): Promise<{ check: CheckResult; stepsRun: number }> {
  const { options, cluster, http, clock, note } = ctx;
  const durationMs = options.durationS * 1000;
  cluster.useClock(clock);
  const observer = new Observer(http, cluster.controlUrl, clock, ctx.open('views.jsonl'), ctx.open('events.jsonl'));
  await observer.freshView();
  observer.start();
  const workload = new Workload({ cluster, http, clock, history: ctx.open('history.jsonl'), seed: options.seed, view: () => observer.view() });
  const nemesis = new Nemesis({ cluster, http, clock, log: ctx.open('nemesis.jsonl'), freshView: () => observer.freshView(), say: note });
  note(`clients and nemesis start (${options.concurrency} clients, ${ctx.steps.length} faults planned)`);
  workload.start(options.concurrency, durationMs);
  const nemesisDone = nemesis.run(ctx.steps, durationMs);
  await sleep(durationMs - clock.now());
  await workload.stop();
  if (workload.ops.length >= workloadLimits.opsMax) note(`the clients stopped early: the history holds at most ${workloadLimits.opsMax} operations`);
  nemesis.stop();
  await nemesisDone;
  note(`clients stopped after ${workload.ops.length} operations; healing and waiting for convergence (at most ${options.settleS} s)`);
  const settled = await settle({ cluster, http, workload, freshView: () => observer.freshView(), say: note }, Date.now() + options.settleS * 1000);
  await observer.stop();
  note(settled.convergence.converged ? `converged: ${settled.convergence.detail}` : `did not converge: ${settled.convergence.detail}`);
  const rolledBack = await readRollbackFiles(cluster.plan.dataRoot, cluster.nodeIds());
  const check = checkHistory({
    ops: workload.ops,
    final: settled.final,
    convergence: settled.convergence,
    nemesis: nemesis.records,
    failovers: observer.failovers(),
    rolledBack,
    unexpectedExits: cluster.unexpectedExits,
  });
  return { check, stepsRun: nemesis.records.length };
}

// The cluster at rest before the clients start: a synchronized mirror, every replica connected,
// and a witness that knows the primary.
async function waitReady(cluster: ChaosCluster, http: Http): Promise<void> {
  const deadline = Date.now() + runLimits.readyTimeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    const primary = await http.tryCall('GET', `${cluster.url('primary')}/status`, undefined, 1000);
    const replicas = primary?.body?.replicas as Array<{ connected: boolean }> | undefined;
    last = `mirror ${primary?.body?.mirror?.state ?? '?'}, ${replicas?.filter((r) => r.connected).length ?? 0} replicas connected`;
    const replicasExpected = defaultTopology.filter((s) => s.role === 'replica').length;
    const witness = await http.tryCall('GET', `${cluster.controlUrl}/witness`, undefined, 1000);
    last += `, the witness names ${witness?.body?.primaryId ?? 'no primary'}`;
    if (primary?.body?.mirror?.state === 'synchronized' && replicas?.length === replicasExpected && replicas.every((r) => r.connected) && witness?.body?.primaryId) return;
    await sleep(100);
  }
  throw new Error(`the fresh cluster did not settle within ${runLimits.readyTimeoutMs} ms (${last})`);
}

async function main(): Promise<number> {
  const parsed = parseArgs(process.argv.slice(2), () => Math.floor(Math.random() * 0x100000000));
  if (!parsed.ok) {
    process.stderr.write(`${parsed.problem ? `npm run chaos: ${parsed.problem}\n` : ''}${USAGE}\n`);
    return parsed.problem ? EXIT.usage : EXIT.pass;
  }
  return runChaos(parsed.options);
}

// Run as a script (not when a test imports runChaos).
if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(REPO_ROOT, 'scripts/chaos/main.ts')) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`npm run chaos: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(EXIT.broken);
    },
  );
}
