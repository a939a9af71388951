// Goal: control validates fault and pause requests before any rule exists: names must be node ids
// or control, numbers stay within limits, unknown fields are refused, every problem is reported at
// once, defaults (jitterMs 0, mode drop, bidirectional false) are filled in.

import { describe, expect, it } from 'vitest';
import { parseLatency, parseLoss, parsePartition, parsePause } from '../../../services/control/src/faults/fault-requests.ts';
import { limits } from '../../../shared/limits.ts';

const NAMES = ['primary', 'mirror', 'replica-1', 'replica-2', 'control'];

function problemsOf(parsed: { ok: boolean; problems?: string[] }): string[] {
  expect(parsed.ok).toBe(false);
  return parsed.problems ?? [];
}

describe('parseLatency', () => {
  it('accepts a rule and fills in defaults', () => {
    expect(parseLatency({ from: 'primary', to: 'mirror', ms: 200 }, NAMES)).toEqual({
      ok: true,
      value: { kind: 'latency', from: 'primary', to: 'mirror', ms: 200, jitterMs: 0, bidirectional: false },
    });
    expect(parseLatency({ from: 'control', to: 'replica-1', ms: 1, jitterMs: 5, bidirectional: true }, NAMES).ok).toBe(true);
  });

  it('reports every problem at once, naming the valid names', () => {
    const problems = problemsOf(parseLatency({ from: 'mars', to: 'mirror', ms: 1.5, jitterMs: -1, color: 'red' }, NAMES));
    expect(problems).toHaveLength(4);
    expect(problems.join(' ')).toContain('names: primary, mirror, replica-1, replica-2, control');
    expect(problems.join(' ')).toContain('unknown field "color"');
  });

  it('bounds ms and ms + jitterMs by limits.latencyMsMax, and refuses a rule from a name to itself', () => {
    problemsOf(parseLatency({ from: 'primary', to: 'mirror', ms: limits.latencyMsMax + 1 }, NAMES));
    problemsOf(parseLatency({ from: 'primary', to: 'mirror', ms: limits.latencyMsMax, jitterMs: 1 }, NAMES));
    problemsOf(parseLatency({ from: 'primary', to: 'mirror', ms: 0 }, NAMES));
    problemsOf(parseLatency({ from: 'primary', to: 'primary', ms: 10 }, NAMES));
    problemsOf(parseLatency(null, NAMES));
    problemsOf(parseLatency({ from: 'primary', to: 'mirror' }, NAMES));
  });
});

describe('parseLoss', () => {
  it('takes a rate from 0 to 1', () => {
    expect(parseLoss({ from: 'primary', to: 'mirror', rate: 0 }, NAMES).ok).toBe(true);
    expect(parseLoss({ from: 'primary', to: 'mirror', rate: 1 }, NAMES).ok).toBe(true);
    expect(parseLoss({ from: 'primary', to: 'mirror', rate: 0.5 }, NAMES)).toEqual({
      ok: true,
      value: { kind: 'loss', from: 'primary', to: 'mirror', rate: 0.5, bidirectional: false },
    });
    for (const rate of [-0.1, 1.01, '0.5', null, Number.NaN]) problemsOf(parseLoss({ from: 'primary', to: 'mirror', rate }, NAMES));
  });
});

describe('parsePartition', () => {
  it('takes groups, isolate, or a directed pair, with mode drop by default', () => {
    expect(parsePartition({ groups: [['primary'], ['mirror', 'control']] }, NAMES)).toEqual({
      ok: true,
      value: { kind: 'partition', mode: 'drop', groups: [['primary'], ['mirror', 'control']] },
    });
    expect(parsePartition({ isolate: 'primary', mode: 'reject' }, NAMES)).toEqual({ ok: true, value: { kind: 'partition', mode: 'reject', isolate: 'primary' } });
    expect(parsePartition({ from: 'primary', to: 'control', bidirectional: true }, NAMES)).toEqual({
      ok: true,
      value: { kind: 'partition', mode: 'drop', from: 'primary', to: 'control', bidirectional: true },
    });
  });

  it('refuses zero or several shapes, bad groups, bad names and bad modes', () => {
    problemsOf(parsePartition({}, NAMES));
    problemsOf(parsePartition({ isolate: 'primary', groups: [['primary'], ['mirror']] }, NAMES));
    problemsOf(parsePartition({ groups: [['primary']] }, NAMES));
    problemsOf(parsePartition({ groups: [['primary'], []] }, NAMES));
    problemsOf(parsePartition({ groups: [['primary'], ['primary', 'mirror']] }, NAMES));
    problemsOf(parsePartition({ groups: [['primary'], ['saturn']] }, NAMES));
    problemsOf(parsePartition({ isolate: 'saturn' }, NAMES));
    problemsOf(parsePartition({ isolate: 'primary', mode: 'explode' }, NAMES));
    problemsOf(parsePartition({ isolate: 'primary', bidirectional: true }, NAMES));
    problemsOf(parsePartition({ to: 'primary' }, NAMES));
  });
});

describe('parsePause', () => {
  it('takes ms from 1 to limits.pauseMsMax', () => {
    expect(parsePause({ ms: 3000 })).toEqual({ ok: true, value: 3000 });
    for (const ms of [0, -1, 1.5, limits.pauseMsMax + 1, '3000']) problemsOf(parsePause({ ms }));
    problemsOf(parsePause({}));
  });
});
