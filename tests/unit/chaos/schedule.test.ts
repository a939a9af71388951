// Goal: the nemesis schedule is a pure function of the seed: the same seed gives the same steps,
// every step fits in the run, one fault at a time, only the chosen kinds, partition shapes that
// name every process exactly once, and a printable line per step.

import { describe, expect, it } from 'vitest';
import { describeStep, formatSchedule, generateSchedule, NEMESIS_KINDS, type NemesisStep, scheduleBounds } from '../../../scripts/chaos/schedule.ts';

const names = ['primary', 'mirror', 'replica-1', 'replica-2', 'control'];
const schedule = (seed: number, durationMs = 120_000, kinds = [...NEMESIS_KINDS]) => generateSchedule({ seed, durationMs, kinds, names });

describe('nemesis schedule', () => {
  it('is the same for the same seed and differs for another', () => {
    expect(schedule(5)).toEqual(schedule(5));
    expect(JSON.stringify(schedule(5))).not.toBe(JSON.stringify(schedule(6)));
    expect(formatSchedule(schedule(5))).toBe(formatSchedule(schedule(5)));
  });

  it('runs one fault at a time, after the warm-up, healed before the end', () => {
    for (const seed of [1, 2, 3, 99, 12345]) {
      const steps = schedule(seed);
      expect(steps.length).toBeGreaterThan(5);
      let previousEnd = 0;
      steps.forEach((step, i) => {
        expect(step.index).toBe(i);
        expect(step.atMs).toBeGreaterThanOrEqual(Math.max(scheduleBounds.warmupMs, previousEnd + scheduleBounds.gapMs[0]));
        expect(step.durationMs).toBeGreaterThan(0);
        previousEnd = step.atMs + step.durationMs;
      });
      expect(previousEnd).toBeLessThanOrEqual(120_000 - scheduleBounds.tailMs);
    }
  });

  it('uses only the chosen kinds, and none for an empty list', () => {
    const steps = schedule(3, 300_000, ['kill', 'pause']);
    expect(new Set(steps.map((s) => s.kind))).toEqual(new Set(['kill', 'pause']));
    expect(schedule(3, 300_000, [])).toEqual([]);
  });

  it('draws every kind and every partition shape over a long run, each within its bounds', () => {
    const steps = [1, 2, 3, 4].flatMap((seed) => schedule(seed, 600_000));
    expect(new Set(steps.map((s) => s.kind))).toEqual(new Set(NEMESIS_KINDS));
    const partitions = steps.filter((s): s is Extract<NemesisStep, { kind: 'partition' }> => s.kind === 'partition');
    expect(new Set(partitions.map((p) => p.shape))).toEqual(new Set(['isolate', 'halves', 'bridge', 'link']));
    for (const p of partitions) {
      if (p.shape === 'halves') expect([...p.groups[0], ...p.groups[1]].sort()).toEqual([...names].sort());
      if (p.shape === 'bridge') {
        expect([...p.sides[0], p.bridge, ...p.sides[1]].sort()).toEqual([...names].sort());
        expect(p.sides[0].length).toBeGreaterThan(0);
        expect(p.sides[1].length).toBeGreaterThan(0);
      }
    }
    for (const s of steps) {
      if (s.kind === 'latency') expect(s.ms + s.jitterMs).toBeLessThanOrEqual(scheduleBounds.latencyMs[1] * 1.5);
      if (s.kind === 'loss') expect(s.rate >= 0.1 && s.rate <= 0.8).toBe(true);
      if (s.kind === 'pause') expect(s.durationMs).toBeLessThanOrEqual(scheduleBounds.pauseMs[1]);
      if (s.kind === 'kill' || s.kind === 'crash') expect(s.durationMs).toBeLessThanOrEqual(scheduleBounds.downMs[1]);
    }
  });

  it('describes steps for a person', () => {
    const line = describeStep({ index: 0, atMs: 2000, durationMs: 2300, kind: 'kill', target: 'primary', pick: 0.5 });
    expect(line).toBe('kill -9 the primary, restart after 2.3 s');
    expect(describeStep({ index: 1, atMs: 0, durationMs: 4000, kind: 'partition', mode: 'reject', shape: 'isolate', target: 'mirror', pick: 0 })).toBe('partition: isolate the mirror for 4.0 s (reject)');
    expect(formatSchedule([])).toContain('no faults');
  });

  it('refuses a run too short to hold a fault', () => {
    expect(() => schedule(1, 1000)).toThrow(/at least/);
  });
});
