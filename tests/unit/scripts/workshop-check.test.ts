// Goal: `npm run test:compose` (and `test:swarm`) check what the README tells a participant, and
// the parts of them that need no engine are right: the README's curl session pairs one to one
// with the check's expectations (a README edit that the check does not follow fails here, in CI,
// not only on a machine with Docker), each expectation accepts what the cluster really prints and
// refuses what it must not, the ten experiments are found in order, and Docker's nanosecond times
// parse to the millisecond.

import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../../scripts/lib/cluster-processes.ts';
import { dockerTimeMs } from '../../../scripts/workshop-check/compose-project.ts';
import { pairSession, readmeCurlSession, readReadme, sessionExpectations } from '../../../scripts/workshop-check/curl-session.ts';
import { experimentScripts } from '../../../scripts/workshop-check/experiments.ts';

const expectationFor = (what: string) => {
  const found = sessionExpectations.find((e) => e.what.includes(what));
  if (!found) throw new Error(`no expectation about ${what}`);
  return found;
};

describe("the README's curl session", () => {
  const commands = readmeCurlSession(readReadme(REPO_ROOT));

  it('is curl commands, comments removed, each paired with exactly one expectation', () => {
    expect(commands.length).toBeGreaterThanOrEqual(4);
    for (const command of commands) {
      expect(command.startsWith('curl '), command).toBe(true);
      expect(command, command).not.toMatch(/\s#/);
    }
    const paired = pairSession(commands).map((p) => p.expectation);
    expect(new Set(paired).size).toBe(commands.length);
  });

  it('refuses a session without its first write, or with a command the check does not know', () => {
    expect(() => pairSession(commands.slice(1))).toThrow(/must start with/);
    expect(() => pairSession([...commands, 'curl -s http://127.0.0.1:7001/metrics'])).toThrow(/matches 0 expectations/);
  });

  it("accepts what the cluster prints and refuses what it must not", () => {
    const write = expectationFor('write on the primary');
    expect(write.check('{"key":"greeting","lsn":1,"epoch":1,"ackedBy":["primary","mirror"],"pending":["replica-1"]}')).toBe('');
    expect(write.check('{"key":"greeting","lsn":1,"epoch":1,"ackedBy":["primary"]}')).toMatch(/ackedBy/);
    expect(write.check('curl: (7) Failed to connect')).toMatch(/not JSON/);

    const redirect = expectationFor('307');
    expect(redirect.check('HTTP/1.1 307 Temporary Redirect\r\nlocation: http://127.0.0.1:7001/kv/note\r\ncontent-type: application/json')).toBe('');
    expect(redirect.check('HTTP/1.1 307 Temporary Redirect\r\nlocation: http://primary:7001/kv/note\r\n')).toMatch(/no Location/);
    expect(redirect.check('HTTP/1.1 200 OK\r\n')).toMatch(/no 307/);

    const replica = expectationFor('from replica-1');
    expect(replica.retry).toBe(true);
    expect(replica.check('{"key":"greeting","value":{"hello":"world"},"servedBy":"replica-1"}')).toBe('');
    expect(replica.check('{"error":"not_found"}')).toMatch(/value/);

    const mirror = expectationFor('mirror refuses');
    expect(mirror.retry).toBe(false);
    expect(mirror.check('{"error":"standby_not_readable","message":"..."}')).toBe('');
  });
});

describe('the experiments and Docker times', () => {
  it('finds the ten experiments in their order', () => {
    expect(experimentScripts(REPO_ROOT)).toEqual([
      '01-sync-vs-async.sh', '02-replica-lag.sh', '03-failover.sh', '04-async-loss.sh', '05-split-brain.sh', '06-read-scaling.sh',
      '07-wan-latency.sh', '08-add-a-copy.sh', '09-slow-copy.sh', '10-exact-vs-filtered.sh',
    ]);
  });

  it('reads RFC 3339 times with nanoseconds', () => {
    expect(dockerTimeMs('2024-05-01T12:00:00.123456789Z')).toBe(Date.UTC(2024, 4, 1, 12, 0, 0, 123));
    expect(() => dockerTimeMs('0001-01-01T00:00:00Z')).not.toThrow();
    expect(() => dockerTimeMs('yesterday')).toThrow(/not a Docker time/);
  });
});
