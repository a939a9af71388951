// Goal: the chaos PRNG is repeatable (same seed, same numbers, on any machine), stays in its
// ranges, and derived streams are independent of each other.

import { describe, expect, it } from 'vitest';
import { createPrng, deriveSeed, normalizeSeed } from '../../../scripts/chaos/prng.ts';

describe('chaos prng', () => {
  it('gives the same sequence for the same seed and another for another seed', () => {
    const a = createPrng(42);
    const b = createPrng(42);
    const c = createPrng(43);
    const seqA = Array.from({ length: 20 }, () => a.next());
    expect(Array.from({ length: 20 }, () => b.next())).toEqual(seqA);
    expect(Array.from({ length: 20 }, () => c.next())).not.toEqual(seqA);
  });

  it('is mulberry32, pinned: seed 1 starts as it does everywhere (a schedule printed today replays tomorrow)', () => {
    const rng = createPrng(1);
    expect(Array.from({ length: 3 }, () => rng.next().toFixed(10))).toEqual(['0.6270739406', '0.0027357212', '0.5274470400']);
  });

  it('keeps int, pick, chance and shuffle in range', () => {
    const rng = createPrng(7);
    for (let i = 0; i < 2000; i++) {
      const n = rng.int(3, 9);
      expect(Number.isInteger(n) && n >= 3 && n <= 9).toBe(true);
      expect(['a', 'b', 'c']).toContain(rng.pick(['a', 'b', 'c']));
      const x = rng.next();
      expect(x >= 0 && x < 1).toBe(true);
    }
    const seen = new Set(Array.from({ length: 500 }, () => rng.int(0, 4)));
    expect([...seen].sort()).toEqual([0, 1, 2, 3, 4]);
    expect(rng.shuffle([1, 2, 3, 4, 5]).sort()).toEqual([1, 2, 3, 4, 5]);
    expect(rng.chance(0)).toBe(false);
    expect(rng.chance(1)).toBe(true);
    expect(() => rng.pick([])).toThrow(/empty/);
    expect(() => rng.int(5, 4)).toThrow();
  });

  it('derives distinct, stable seeds per label', () => {
    expect(deriveSeed(1, 'schedule')).toBe(deriveSeed(1, 'schedule'));
    expect(deriveSeed(1, 'schedule')).not.toBe(deriveSeed(1, 'client-0'));
    expect(deriveSeed(1, 'client-0')).not.toBe(deriveSeed(2, 'client-0'));
    expect(normalizeSeed(-1)).toBe(0xffffffff);
    expect(normalizeSeed(2 ** 32 + 5)).toBe(5);
  });
});
