// Goal: the launcher's restart policy is Docker's on-failure with a bound: crashes are restarted
// after the delay, at most restartsMax times per window; requested stops and clean exits never are.

import { describe, expect, it } from 'vitest';
import { decideRestart, exitWasFailure, type RestartPolicy } from '../../../scripts/lib/restart-policy.ts';

const policy: RestartPolicy = { delayMs: 500, restartsMax: 3, windowMs: 60_000 };
const crash = { code: 1, signal: null, requested: false };

describe('restart policy', () => {
  it('treats non-zero codes and unrequested signals as failures, requested or clean exits not', () => {
    expect(exitWasFailure({ code: 1, signal: null, requested: false })).toBe(true);
    expect(exitWasFailure({ code: null, signal: 'SIGKILL', requested: false })).toBe(true);
    expect(exitWasFailure({ code: 0, signal: null, requested: false })).toBe(false);
    expect(exitWasFailure({ code: null, signal: 'SIGKILL', requested: true })).toBe(false);
    expect(exitWasFailure({ code: 1, signal: null, requested: true })).toBe(false);
  });

  it('restarts a crash after the delay and records when', () => {
    const decision = decideRestart(policy, crash, [], 1000);
    expect(decision).toEqual({ restart: true, delayMs: 500, attempt: 1, restartTimesMs: [1000] });
  });

  it('stops restarting after restartsMax restarts within the window', () => {
    let times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const decision = decideRestart(policy, crash, times, 1000 + i * 1000);
      expect(decision.restart).toBe(true);
      times = decision.restartTimesMs;
    }
    const fourth = decideRestart(policy, crash, times, 4000);
    expect(fourth.restart).toBe(false);
    if (!fourth.restart) expect(fourth.reason).toMatch(/3 restarts within 60 s/);
  });

  it('forgets restarts older than the window', () => {
    const decision = decideRestart(policy, crash, [0, 1000, 2000], 61_500);
    expect(decision).toMatchObject({ restart: true, attempt: 2, restartTimesMs: [2000, 61_500] });
  });

  it('never restarts a requested stop or a clean exit', () => {
    expect(decideRestart(policy, { code: null, signal: 'SIGKILL', requested: true }, [], 0).restart).toBe(false);
    expect(decideRestart(policy, { code: 0, signal: null, requested: false }, [], 0).restart).toBe(false);
  });
});
