// Goal: `npm run chaos` reads its command line strictly: defaults, every option, and a clear
// problem (exit 2) for anything it does not understand.

import { describe, expect, it } from 'vitest';
import { DEFAULTS, parseArgs } from '../../../scripts/chaos/options.ts';
import { NEMESIS_KINDS } from '../../../scripts/chaos/schedule.ts';

const parse = (...argv: string[]) => parseArgs(argv, () => 777);

describe('chaos command line', () => {
  it('has defaults, with a random seed when none is given', () => {
    expect(parse()).toEqual({ ok: true, options: { durationS: DEFAULTS.durationS, seed: 777, nemesis: [...NEMESIS_KINDS], concurrency: DEFAULTS.concurrency, settleS: DEFAULTS.settleS, outDir: null } });
  });

  it('reads every option', () => {
    const parsed = parse('--duration', '300', '--seed', '42', '--nemesis', 'pause,kill', '--concurrency', '4', '--settle', '30', '--out', '/tmp/x');
    expect(parsed).toEqual({ ok: true, options: { durationS: 300, seed: 42, nemesis: ['kill', 'pause'], concurrency: 4, settleS: 30, outDir: '/tmp/x' } });
    expect(parse('--nemesis', 'none')).toMatchObject({ ok: true, options: { nemesis: [] } });
  });

  it('names the problem', () => {
    expect(parse('--duration', '2')).toMatchObject({ ok: false, problem: expect.stringMatching(/--duration must be a whole number from 5/) });
    expect(parse('--nemesis', 'kill,meteor')).toMatchObject({ ok: false, problem: expect.stringMatching(/unknown: meteor/) });
    expect(parse('--seed')).toMatchObject({ ok: false, problem: '--seed needs a value' });
    expect(parse('--concurrency', 'many')).toMatchObject({ ok: false, problem: expect.stringMatching(/--concurrency/) });
    expect(parse('--fast')).toMatchObject({ ok: false, problem: 'unknown option --fast' });
    expect(parse('--help')).toEqual({ ok: false, problem: null });
  });
});
