// Waiting for a condition to a deadline: the only way cluster tests wait. A test never sleeps and
// hopes; it polls what it needs to see and, past the deadline, fails naming what it waited for and
// the last thing it saw.

import { inspect } from 'node:util';

export interface WaitOptions {
  // What the test waits for, as it should read in a failure: "primary to answer /health".
  what: string;
  timeoutMs?: number;
  intervalMs?: number;
}

const TIMEOUT_MS_DEFAULT = 10_000;
const INTERVAL_MS_DEFAULT = 50;

// Calls fn until it returns a truthy value and returns that value. A throw counts as "not yet" (a
// process still booting refuses connections) and is reported as the last value if time runs out.
export async function waitFor<T>(fn: () => T | Promise<T>, options: WaitOptions): Promise<NonNullable<T>> {
  const timeoutMs = options.timeoutMs ?? TIMEOUT_MS_DEFAULT;
  const intervalMs = options.intervalMs ?? INTERVAL_MS_DEFAULT;
  const deadline = Date.now() + timeoutMs;
  let last: unknown ;
  let attempts = 0;
  for (;;) {
    attempts += 1;
    try {
      const value = await fn();
      if (value) return value as NonNullable<T>;
      last = value;
    } catch (err) {
      last = err instanceof Error ? `${err.name}: ${err.message}` : err;
    }
    if (Date.now() + intervalMs > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  const seen = inspect(last, { depth: 4, breakLength: Infinity, maxStringLength: 2000 });
  throw new Error(`timed out after ${timeoutMs} ms (${attempts} attempts) waiting for ${options.what}; last value: ${seen}`);
}
