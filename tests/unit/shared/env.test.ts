// Goal: a setting that every process of a cluster reads means the same thing everywhere. The same
// bad environment (a failover timeout too short for the heartbeat, a secret too short) is refused
// by control and by a data node alike, with the same words; before shared/env.ts control started
// with FAILOVER_TIMEOUT_MS=400 CLUSTER_SECRET=short and every node then refused to.

import { describe, expect, it } from 'vitest';
import { EnvReader } from '../../../shared/env.ts';
import { parseConfig } from '../../../services/control/src/config.ts';
import { ConfigError, loadNodeConfig } from '../../../services/node/src/config.ts';

function nodeProblems(env: Record<string, string>): string[] {
  try {
    loadNodeConfig({ NODE_ID: 'replica-1', ...env });
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

function controlProblems(env: Record<string, string>): string[] {
  const result = parseConfig(env);
  return result.ok ? [] : result.problems;
}

describe('cluster-wide settings', () => {
  it('are refused by control and the nodes alike, in the same words', () => {
    const env = { FAILOVER_TIMEOUT_MS: '400', CLUSTER_SECRET: 'short' };
    const node = nodeProblems(env);
    expect(node).toHaveLength(2);
    expect(controlProblems(env)).toEqual(node);
    const fine: Array<Record<string, string>> = [{}, { FAILOVER_TIMEOUT_MS: '401', CLUSTER_SECRET: 'long-enough' }];
    for (const ok of fine) {
      expect(nodeProblems(ok)).toEqual([]);
      expect(controlProblems(ok)).toEqual([]);
    }
  });

  it('reads integers strictly and lists every problem', () => {
    const env = new EnvReader({ A: '12', B: '1e3', C: '-1', D: ' 7 ' });
    expect(env.integer('A', 0, 0, 100)).toBe(12);
    expect(env.integer('B', 5, 0, 10_000)).toBe(5);
    expect(env.integer('C', 5, 0, 10)).toBe(5);
    expect(env.integer('D', 0, 0, 10)).toBe(7);
    expect(env.problems.map((p) => p.split('=')[0])).toEqual(['B', 'C']);
  });

  it('parses peers: ids once, http(s) URLs, no trailing slash', () => {
    const env = new EnvReader({ PEERS: 'a=http://x:1/,a=http://y:2,B=http://z:3,c=ftp://w' });
    expect(env.peers('PEERS', '')).toEqual([{ id: 'a', url: 'http://x:1' }]);
    expect(env.problems).toHaveLength(3);
  });
});
