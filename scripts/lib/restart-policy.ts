// When a service that exited by itself is started again: Docker's `on-failure` restart policy with
// a bound. Pure, so its edges are unit-tested without processes.
//
// A process we killed or stopped on request stays down (like `docker compose kill|stop`). A process
// that exits with code 0 stays down too: it meant to stop. Anything else (a non-zero code, or a
// signal we did not send, e.g. the node that SIGKILLs itself on control's crash request) is a
// failure and is restarted after `delayMs`, at most `restartsMax` times within `windowMs`, so a
// service that cannot boot does not loop forever.

export interface RestartPolicy {
  delayMs: number;
  restartsMax: number;
  windowMs: number;
}

export const onFailureRestartPolicy: RestartPolicy = { delayMs: 500, restartsMax: 5, windowMs: 60_000 };

export interface ExitFacts {
  code: number | null;
  signal: NodeJS.Signals | null;
  // True when the exit followed our own kill or stop.
  requested: boolean;
}

export type RestartDecision =
  | { restart: true; delayMs: number; attempt: number; restartTimesMs: number[] }
  | { restart: false; reason: string; restartTimesMs: number[] };

export function exitWasFailure(exit: ExitFacts): boolean {
  if (exit.requested) return false;
  return exit.signal !== null || (exit.code !== null && exit.code !== 0);
}

export function describeExit(exit: Pick<ExitFacts, 'code' | 'signal'>): string {
  if (exit.signal) return `killed by ${exit.signal}`;
  return `exited with code ${exit.code ?? 'unknown'}`;
}

// Decides for one exit. `restartTimesMs` are the times of earlier restarts; the answer carries the
// list to keep, pruned to the window, with this restart added when there is one.
export function decideRestart(
  policy: RestartPolicy,
  exit: ExitFacts,
  restartTimesMs: readonly number[],
  nowMs: number,
): RestartDecision {
  const recent = restartTimesMs.filter((t) => nowMs - t < policy.windowMs);
  if (exit.requested) return { restart: false, reason: 'stopped on request', restartTimesMs: recent };
  if (!exitWasFailure(exit)) return { restart: false, reason: 'exited cleanly (code 0)', restartTimesMs: recent };
  if (recent.length >= policy.restartsMax) {
    const reason = `${describeExit(exit)} after ${recent.length} restarts within ${policy.windowMs / 1000} s; leaving it down`;
    return { restart: false, reason, restartTimesMs: recent };
  }
  return { restart: true, delayMs: policy.delayMs, attempt: recent.length + 1, restartTimesMs: [...recent, nowMs] };
}
