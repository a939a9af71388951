// `npm run chaos -- --duration <s> --seed <n> [--nemesis kill,pause,...] [--concurrency <n>]
// [--settle <s>] [--out <dir>]`: the command line, parsed purely so it is unit-tested.

import { NEMESIS_KINDS, type NemesisKind } from './schedule.ts';

export interface ChaosOptions {
  durationS: number;
  seed: number;
  nemesis: NemesisKind[];
  concurrency: number;
  // How long the end of the run may take to heal, converge and read the final state.
  settleS: number;
  // The run's directory; null: .chaos/<timestamp>/ under the repository root.
  outDir: string | null;
}

export const optionBounds = {
  durationS: [5, 24 * 3600],
  concurrency: [1, 64],
  settleS: [5, 600],
} as const;

export const DEFAULTS = { durationS: 60, concurrency: 8, settleS: 60 } as const;

export const USAGE = `usage: npm run chaos -- [--duration <s>] [--seed <n>] [--nemesis <kinds>] [--concurrency <n>] [--settle <s>] [--out <dir>]
  --duration <s>     how long clients and the nemesis run (default ${DEFAULTS.durationS}; ${optionBounds.durationS[0]}-${optionBounds.durationS[1]})
  --seed <n>         the nemesis schedule's seed (default: random, printed); the same seed gives the same schedule
  --nemesis <kinds>  comma-separated fault kinds: ${NEMESIS_KINDS.join(',')} (default: all); "none" for no faults
  --concurrency <n>  concurrent clients (default ${DEFAULTS.concurrency}; ${optionBounds.concurrency[0]}-${optionBounds.concurrency[1]})
  --settle <s>       at most this long to heal, converge and read the final state (default ${DEFAULTS.settleS})
  --out <dir>        the run's directory (default .chaos/<timestamp>/)
verdict: fails on an acknowledged ack=sync/ack=all write lost, two writers in an epoch, a definite failure
  that took effect, a stale read served by a primary, a key whose primary reads are not linearizable or
  could not be checked within the bounds, copies that did not converge (README "Chaos" tells how to read it)
exit status: 0 the guarantees held, 1 a guarantee was broken, 2 a bad command line, 3 the run itself broke`;

export type ParsedArgs = { ok: true; options: ChaosOptions } | { ok: false; problem: string | null };

function whole(arg: string, text: string, [min, max]: readonly [number, number]): number {
  if (!/^[0-9]+$/.test(text) || Number(text) < min || Number(text) > max) throw new Error(`${arg} must be a whole number from ${min} to ${max}, got ${JSON.stringify(text)}`);
  return Number(text);
}

function kinds(text: string): NemesisKind[] {
  if (text === 'none') return [];
  const wanted = text.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = wanted.filter((k) => !(NEMESIS_KINDS as readonly string[]).includes(k));
  if (unknown.length > 0 || wanted.length === 0) throw new Error(`--nemesis takes ${NEMESIS_KINDS.join(',')} or none; unknown: ${unknown.join(', ') || '(empty)'}`);
  return NEMESIS_KINDS.filter((k) => wanted.includes(k));
}

export function parseArgs(argv: readonly string[], randomSeed: () => number): ParsedArgs {
  const options: ChaosOptions = { durationS: DEFAULTS.durationS, seed: -1, nemesis: [...NEMESIS_KINDS], concurrency: DEFAULTS.concurrency, settleS: DEFAULTS.settleS, outDir: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const value = () => {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new Error(`${arg} needs a value`);
      i++;
      return next;
    };
    try {
      if (arg === '--duration') options.durationS = whole(arg, value(), optionBounds.durationS);
      else if (arg === '--seed') options.seed = whole(arg, value(), [0, 0xffffffff]);
      else if (arg === '--nemesis') options.nemesis = kinds(value());
      else if (arg === '--concurrency') options.concurrency = whole(arg, value(), optionBounds.concurrency);
      else if (arg === '--settle') options.settleS = whole(arg, value(), optionBounds.settleS);
      else if (arg === '--out') options.outDir = value();
      else if (arg === '--help' || arg === '-h') return { ok: false, problem: null };
      else throw new Error(`unknown option ${arg}`);
    } catch (error) {
      return { ok: false, problem: (error as Error).message };
    }
  }
  if (options.seed < 0) options.seed = randomSeed() >>> 0;
  return { ok: true, options };
}
