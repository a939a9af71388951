// `npm run bench [-- --quick] [--json <file>] [--only <sections>] [--profile <id>] [--stalls]`: the command
// line, and the counts and durations of a full and a quick run. Quick is what CI would run: the
// same sections with smaller counts, well under three minutes.

import { defaultTopology } from '../../shared/topology.ts';

export const SECTION_NAMES = ['baselines', 'writes', 'injection', 'lag', 'catchup', 'memory', 'failover'] as const;
export type SectionName = (typeof SECTION_NAMES)[number];

export interface BenchProfile {
  name: 'full' | 'quick';
  rttCount: number;
  fsyncCount: number;
  // Write runs: each (ack level, client count) pair is measured durationMs in all, in writeRounds
  // interleaved slices, each slice after its own warmupMs.
  writeWarmupMs: number;
  writeDurationMs: number;
  writeRounds: number;
  clientCounts: readonly number[];
  // Sync writes at 1 client per injected latency (and for the baseline right before).
  injectionWrites: Record<number, number>;
  injectionBaselineWrites: number;
  lagDurationMs: number;
  lagProbesPerS: number;
  // Entries written while a replica is down (and keys for the full resync and the memory reading).
  catchUpEntries: number;
  failoverKills: number;
}

export const profiles: Record<BenchProfile['name'], BenchProfile> = {
  full: {
    name: 'full',
    rttCount: 2000,
    fsyncCount: 300,
    writeWarmupMs: 500,
    writeDurationMs: 10_000,
    writeRounds: 5,
    clientCounts: [1, 64],
    injectionWrites: { 50: 100, 200: 40 },
    injectionBaselineWrites: 200,
    lagDurationMs: 20_000,
    lagProbesPerS: 100,
    catchUpEntries: 100_000,
    failoverKills: 5,
  },
  quick: {
    name: 'quick',
    rttCount: 500,
    fsyncCount: 100,
    writeWarmupMs: 300,
    writeDurationMs: 3000,
    writeRounds: 3,
    clientCounts: [1, 64],
    injectionWrites: { 50: 20, 200: 10 },
    injectionBaselineWrites: 50,
    lagDurationMs: 5000,
    lagProbesPerS: 100,
    catchUpEntries: 20_000,
    failoverKills: 2,
  },
};

export interface BenchOptions {
  profile: BenchProfile;
  // Where the JSON goes; null: bench/results/bench-<time>[-quick].json.
  jsonPath: string | null;
  sections: readonly SectionName[];
  // Data node to run under the CPU profiler; its profile is written when the bench stops it.
  profileNode: string | null;
  // Every data node logs its GC pauses and event-loop stalls (listed per section in the notes).
  watchStalls: boolean;
}

export const USAGE = `usage: npm run bench [-- [--quick] [--json <file>] [--only <section,...>] [--profile <node id>] [--stalls]]
  --quick            smaller counts and durations (what CI would run; under 3 minutes)
  --json <file>      where to write the results (default bench/results/bench-<time>.json)
  --only <list>      run only these sections: ${SECTION_NAMES.join(', ')}
  --profile <id>     run that data node under V8's CPU profiler (a .cpuprofile written when the bench
                     stops it; combine with --only: a node SIGKILLed by the failover section writes none)
  --stalls           every data node logs its GC pauses ≥ 10 ms and event-loop stalls ≥ 40 ms; the
                     table's notes list them per section (to explain a p99 or a lag spike)`;

export type ParsedArgs = { ok: true; options: BenchOptions } | { ok: false; problem: string | null };

export function parseArgs(argv: readonly string[]): ParsedArgs {
  let quick = false;
  let jsonPath: string | null = null;
  let sections: SectionName[] = [...SECTION_NAMES];
  let profileNode: string | null = null;
  let watchStalls = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const value = () => {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new Error(`${arg} needs a value`);
      i++;
      return next;
    };
    try {
      if (arg === '--quick') quick = true;
      else if (arg === '--json') jsonPath = value();
      else if (arg === '--profile') {
        profileNode = value();
        const nodes = defaultTopology.filter((s) => s.kind === 'node').map((s) => s.id);
        if (!nodes.includes(profileNode)) throw new Error(`--profile takes a data node id: ${nodes.join(', ')}`);
      }
      else if (arg === '--stalls') watchStalls = true;
      else if (arg === '--only') {
        const wanted = value().split(',').map((s) => s.trim()).filter(Boolean);
        const unknown = wanted.filter((s) => !(SECTION_NAMES as readonly string[]).includes(s));
        if (unknown.length > 0) throw new Error(`unknown section ${unknown.join(', ')}; sections are ${SECTION_NAMES.join(', ')}`);
        sections = SECTION_NAMES.filter((s) => wanted.includes(s));
      } else if (arg === '--help' || arg === '-h') return { ok: false, problem: null };
      else throw new Error(`unknown option ${arg}`);
    } catch (error) {
      return { ok: false, problem: (error as Error).message };
    }
  }
  return { ok: true, options: { profile: profiles[quick ? 'quick' : 'full'], jsonPath, sections, profileNode, watchStalls } };
}
