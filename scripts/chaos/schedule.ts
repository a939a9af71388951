// The nemesis schedule: which fault begins when, for how long, against whom. A pure function of the
// seed, the run's duration, the chosen fault kinds and the names of the processes, so the same seed
// gives the same schedule (printed at the start of every run).
//
// One fault at a time, as Jepsen's default nemesis does: a fault, then everything healed, then a
// quiet gap. SPEC §6.1 promises survival of any *single* crash, kill, pause or partition; overlapping
// faults would test a promise nobody made.
//
// Roles move at every failover, so a step names its target by role ("the primary") and carries a
// random `pick` in [0, 1) to choose among several candidates; the runner resolves it from the
// witness's view when the step begins. Partition shapes over fixed names (halves, bridge) are
// resolved here: the names do not change.

import { createPrng, deriveSeed, type Prng } from './prng.ts';

export const NEMESIS_KINDS = ['kill', 'pause', 'partition', 'latency', 'loss', 'crash'] as const;
export type NemesisKind = (typeof NEMESIS_KINDS)[number];

export type Role = 'primary' | 'mirror' | 'replica';
// A data node by role, or any data node.
export type Selector = Role | 'any';
// One end of a link: a data node by role, or control (the witness).
export type Endpoint = Role | 'control';
export type PartitionMode = 'drop' | 'reject';

interface StepBase {
  index: number;
  // When the fault begins and how long it lasts before it is healed (for kill and crash: how long
  // the process stays down; for pause: how long the event loop stops), in ms from the run's start.
  atMs: number;
  durationMs: number;
}

export type ProcessStep = StepBase & { kind: 'kill' | 'crash' | 'pause'; target: Selector; pick: number };
export type PartitionStep = StepBase & { kind: 'partition'; mode: PartitionMode } & (
    | { shape: 'isolate'; target: Selector; pick: number }
    | { shape: 'halves'; groups: [string[], string[]] }
    | { shape: 'bridge'; sides: [string[], string[]]; bridge: string }
    | { shape: 'link'; between: [Endpoint, Endpoint]; picks: [number, number] }
  );
export type LatencyStep = StepBase & { kind: 'latency'; between: [Endpoint, Endpoint]; picks: [number, number]; ms: number; jitterMs: number; bidirectional: boolean };
export type LossStep = StepBase & { kind: 'loss'; between: [Endpoint, Endpoint]; picks: [number, number]; rate: number; bidirectional: boolean };
export type NemesisStep = ProcessStep | PartitionStep | LatencyStep | LossStep;

export interface ScheduleOptions {
  seed: number;
  durationMs: number;
  kinds: readonly NemesisKind[];
  // Every name a partition may separate: the data node ids and control.
  names: readonly string[];
}

// The shape of the schedule (TIGER_STYLE: every range written down once).
export const scheduleBounds = {
  // No fault in the first moments: the cluster settles and the clients start.
  warmupMs: 2000,
  // The last fault is healed at least this long before the run's end.
  tailMs: 1000,
  gapMs: [1000, 4000],
  downMs: [300, 6000],
  pauseMs: [300, 5000],
  linkFaultMs: [1000, 8000],
  latencyMs: [20, 500],
  lossRate: [0.1, 0.8],
  durationMsMin: 5000,
  stepsMax: 10_000,
} as const;

// Weighted by repetition: the primary is the interesting target, the others still get their turn.
const TARGETS: readonly Selector[] = ['primary', 'primary', 'primary', 'primary', 'mirror', 'mirror', 'replica', 'replica', 'any'];
const LINKS: ReadonlyArray<[Endpoint, Endpoint]> = [
  ['primary', 'mirror'], ['primary', 'mirror'], ['primary', 'mirror'],
  ['primary', 'control'], ['primary', 'control'],
  ['mirror', 'control'],
  ['primary', 'replica'], ['primary', 'replica'],
];
const SHAPES = ['isolate', 'isolate', 'halves', 'bridge', 'link'] as const;

export function generateSchedule(options: ScheduleOptions): NemesisStep[] {
  const { durationMs, kinds } = options;
  if (kinds.length === 0) return [];
  if (durationMs < scheduleBounds.durationMsMin) throw new Error(`a run needs at least ${scheduleBounds.durationMsMin} ms, got ${durationMs}`);
  if (options.names.length < 3) throw new Error(`partitions need at least 3 names, got ${options.names.join(', ')}`);
  const rng = createPrng(deriveSeed(options.seed, 'schedule'));
  const steps: NemesisStep[] = [];
  let atMs: number = scheduleBounds.warmupMs;
  while (steps.length < scheduleBounds.stepsMax) {
    const kind = rng.pick(kinds);
    const step = makeStep(rng, kind, steps.length, atMs, options.names);
    if (step.atMs + step.durationMs > durationMs - scheduleBounds.tailMs) break;
    steps.push(step);
    atMs = step.atMs + step.durationMs + rng.int(scheduleBounds.gapMs[0], scheduleBounds.gapMs[1]);
  }
  return steps;
}

function makeStep(rng: Prng, kind: NemesisKind, index: number, atMs: number, names: readonly string[]): NemesisStep {
  const base = { index, atMs };
  const between = (): { between: [Endpoint, Endpoint]; picks: [number, number] } => {
    const pair = rng.pick(LINKS);
    const ordered: [Endpoint, Endpoint] = rng.chance(0.5) ? [pair[0], pair[1]] : [pair[1], pair[0]];
    return { between: ordered, picks: [rng.next(), rng.next()] };
  };
  switch (kind) {
    case 'kill':
    case 'crash':
      return { ...base, kind, target: rng.pick(TARGETS), pick: rng.next(), durationMs: rng.int(...scheduleBounds.downMs) };
    case 'pause':
      return { ...base, kind, target: rng.pick(TARGETS), pick: rng.next(), durationMs: rng.int(...scheduleBounds.pauseMs) };
    case 'partition':
      return { ...base, kind, mode: rng.chance(0.6) ? 'drop' : 'reject', durationMs: rng.int(...scheduleBounds.linkFaultMs), ...partitionShape(rng, names) };
    case 'latency': {
      const ms = rng.int(...scheduleBounds.latencyMs);
      return { ...base, kind, ...between(), ms, jitterMs: rng.int(0, Math.floor(ms / 2)), bidirectional: rng.chance(0.5), durationMs: rng.int(...scheduleBounds.linkFaultMs) };
    }
    case 'loss': {
      const rate = Math.round((scheduleBounds.lossRate[0] + rng.next() * (scheduleBounds.lossRate[1] - scheduleBounds.lossRate[0])) * 100) / 100;
      return { ...base, kind, ...between(), rate, bidirectional: rng.chance(0.5), durationMs: rng.int(...scheduleBounds.linkFaultMs) };
    }
  }
}

// Jepsen's partition shapes: one node alone, two halves (a minority and a majority), a bridge (two
// halves that cannot talk, and one node that talks to both), or one link cut.
function partitionShape(rng: Prng, names: readonly string[]) {
  const shape = rng.pick(SHAPES);
  if (shape === 'isolate') return { shape, target: rng.pick(TARGETS), pick: rng.next() } as const;
  if (shape === 'link') {
    const pair = rng.pick(LINKS);
    return { shape, between: [pair[0], pair[1]] as [Endpoint, Endpoint], picks: [rng.next(), rng.next()] as [number, number] } as const;
  }
  const shuffled = rng.shuffle(names);
  const half = Math.floor(shuffled.length / 2);
  if (shape === 'halves') return { shape, groups: [shuffled.slice(0, half), shuffled.slice(half)] as [string[], string[]] } as const;
  // bridge: the middle name talks to both sides.
  const bridge = shuffled[half] as string;
  return { shape, sides: [shuffled.slice(0, half), shuffled.slice(half + 1)] as [string[], string[]], bridge } as const;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const selectorText = (s: Selector) => (s === 'any' ? 'any data node' : `the ${s}`);
const endpointText = (e: Endpoint) => (e === 'control' ? 'control' : `the ${e}`);

// One line a person reads: "kill the primary, down 2.3 s".
export function describeStep(step: NemesisStep): string {
  switch (step.kind) {
    case 'kill':
      return `kill -9 ${selectorText(step.target)}, restart after ${seconds(step.durationMs)}`;
    case 'crash':
      return `crash ${selectorText(step.target)} (POST /nodes/:id/crash), restart after ${seconds(step.durationMs)}`;
    case 'pause':
      return `pause ${selectorText(step.target)} for ${seconds(step.durationMs)}`;
    case 'partition': {
      const how = `for ${seconds(step.durationMs)} (${step.mode})`;
      if (step.shape === 'isolate') return `partition: isolate ${selectorText(step.target)} ${how}`;
      if (step.shape === 'link') return `partition: cut ${endpointText(step.between[0])} <-> ${endpointText(step.between[1])} ${how}`;
      if (step.shape === 'halves') return `partition: halves [${step.groups[0].join(', ')}] | [${step.groups[1].join(', ')}] ${how}`;
      return `partition: bridge [${step.sides[0].join(', ')}] | [${step.sides[1].join(', ')}], ${step.bridge} sees both ${how}`;
    }
    case 'latency': {
      const arrow = step.bidirectional ? '<->' : '->';
      return `latency ${step.ms}±${step.jitterMs} ms ${endpointText(step.between[0])} ${arrow} ${endpointText(step.between[1])} for ${seconds(step.durationMs)}`;
    }
    case 'loss': {
      const arrow = step.bidirectional ? '<->' : '->';
      return `loss ${Math.round(step.rate * 100)}% ${endpointText(step.between[0])} ${arrow} ${endpointText(step.between[1])} for ${seconds(step.durationMs)}`;
    }
  }
}

// The schedule as printed at the start of a run.
export function formatSchedule(steps: readonly NemesisStep[]): string {
  if (steps.length === 0) return '  (no faults)';
  return steps.map((s) => `  #${String(s.index).padStart(3, ' ')}  t=${(s.atMs / 1000).toFixed(1).padStart(6, ' ')} s  ${describeStep(s)}`).join('\n');
}
