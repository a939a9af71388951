// A small seeded pseudo-random generator (mulberry32): the same seed gives the same numbers on
// every machine and every Node version, so the same seed gives the same nemesis schedule. Not for
// cryptography; for repeatable chaos. Pure.

export interface Prng {
  // A number in [0, 1).
  next(): number;
  // An integer from min to max, both included.
  int(min: number, max: number): number;
  // True with probability p.
  chance(p: number): boolean;
  // One element; throws on an empty list (a caller bug, not an operating error).
  pick<T>(items: readonly T[]): T;
  // A new array with the elements in random order (Fisher-Yates).
  shuffle<T>(items: readonly T[]): T[];
}

// Seeds are 32-bit unsigned integers; anything else is folded into that range.
export function normalizeSeed(seed: number): number {
  if (!Number.isFinite(seed)) throw new Error(`seed must be a finite number, got ${seed}`);
  return Math.trunc(seed) >>> 0;
}

// A seed for an independent stream (the schedule, client 3, ...) derived from the run's seed and a
// label, so adding a client does not change the schedule.
export function deriveSeed(seed: number, label: string): number {
  // FNV-1a over the label, mixed with the seed.
  let hash = 0x811c9dc5 ^ normalizeSeed(seed);
  for (let i = 0; i < label.length; i++) {
    hash ^= label.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

export function createPrng(seed: number): Prng {
  let state = normalizeSeed(seed);
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int(min, max) {
      if (!Number.isInteger(min) || !Number.isInteger(max) || max < min) throw new Error(`int(${min}, ${max}): need integers with min <= max`);
      return min + Math.floor(next() * (max - min + 1));
    },
    chance(p) {
      return next() < p;
    },
    pick(items) {
      if (items.length === 0) throw new Error('pick from an empty list');
      return items[Math.floor(next() * items.length)] as (typeof items)[number];
    },
    shuffle(items) {
      const out = [...items];
      for (let i = out.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [out[i], out[j]] = [out[j] as (typeof out)[number], out[i] as (typeof out)[number]];
      }
      return out;
    },
  };
}
