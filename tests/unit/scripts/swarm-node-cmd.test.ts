// Goal: deploy/swarm/node.sh gives swarm compose's "killed, stays down until start", without an
// engine: a stand-in `docker` on PATH records every call. A kill must SIGKILL the task's container
// first and only then scale the service to 0 (the other order would stop it gracefully); start
// scales to 1 and waits for the task to run; an unknown node or action fails with a sentence.
// `npm run test:swarm` runs the real thing on a one-node swarm.

import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../../scripts/lib/cluster-processes.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'mirrorlab-fake-docker-'));
const calls = path.join(dir, 'calls.log');
// Knows one stack, `lab`, with a service per node; the primary's task runs container c0ffee here.
writeFileSync(path.join(dir, 'docker'), `#!/usr/bin/env bash
printf '%s\\n' "$*" >> "${calls}"
case "$*" in
  "service inspect lab_"*) [ "$3" != lab_nobody ] ;;
  "ps -q --filter label=com.docker.swarm.service.name=lab_primary --filter status=running") echo c0ffee ;;
  "service ps "*"{{.CurrentState}}") echo "Running 1 second ago" ;;
  *) exit 0 ;;
esac
`);
chmodSync(path.join(dir, 'docker'), 0o755);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function nodeCmd(...args: string[]): { code: number | null; out: string; calls: string[] } {
  return nodeCmdWith({}, ...args);
}

function nodeCmdWith(env: Record<string, string>, ...args: string[]): { code: number | null; out: string; calls: string[] } {
  writeFileSync(calls, '');
  const run = spawnSync('bash', ['deploy/swarm/node.sh', ...args], { cwd: REPO_ROOT, env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, STACK: 'lab', ...env }, encoding: 'utf8', timeout: 10_000 });
  return { code: run.status, out: `${run.stdout}${run.stderr}`, calls: readFileSync(calls, 'utf8').trim().split('\n') };
}

describe('deploy/swarm/node.sh', () => {
  it('kill: SIGKILL of the task container, then the service scaled to 0 so it stays down', () => {
    const run = nodeCmd('kill', 'primary');
    expect(run.code, run.out).toBe(0);
    const kill = run.calls.indexOf('kill --signal KILL c0ffee');
    const scale = run.calls.indexOf('service scale --detach lab_primary=0');
    expect(kill, run.calls.join('\n')).toBeGreaterThanOrEqual(0);
    expect(scale, run.calls.join('\n')).toBeGreaterThan(kill);
    expect(run.out).toContain('stays down until start');
  });

  it('start: the service scaled to 1, done once its task runs', () => {
    const run = nodeCmd('start', 'primary');
    expect(run.code, run.out).toBe(0);
    expect(run.calls).toContain('service scale --detach lab_primary=1');
    expect(run.out).toContain('primary started');
  });

  it('start replica-3 with REPLICA_3_FILTER: its REPLICA_FILTER set first, as compose reads it at up', () => {
    const run = nodeCmdWith({ REPLICA_3_FILTER: 'exp10/eu/' }, 'start', 'replica-3');
    expect(run.code, run.out).toBe(0);
    const update = run.calls.indexOf('service update --detach --env-add REPLICA_FILTER=exp10/eu/ lab_replica-3');
    expect(update, run.calls.join('\n')).toBeGreaterThanOrEqual(0);
    expect(run.calls.indexOf('service scale --detach lab_replica-3=1')).toBeGreaterThan(update);
    const unset = nodeCmd('start', 'replica-3');
    expect(unset.calls.some((c) => c.startsWith('service update')), unset.calls.join('\n')).toBe(false);
  });

  it('stop: the service scaled to 0 (SIGTERM first)', () => {
    const run = nodeCmd('stop', 'primary');
    expect(run.code, run.out).toBe(0);
    expect(run.calls).toContain('service scale lab_primary=0');
    expect(run.calls.some((c) => c.startsWith('kill'))).toBe(false);
  });

  it('refuses an unknown node or action, saying what exists', () => {
    const nobody = nodeCmd('kill', 'nobody');
    expect(nobody.code).toBe(1);
    expect(nobody.out).toContain('no service lab_nobody');
    const bad = nodeCmd('restart', 'primary');
    expect(bad.code).toBe(1);
    expect(bad.out).toContain('unknown action "restart"');
    expect(nodeCmd('kill').out).toContain('usage:');
  });
});
