// Goal: the node refuses bad configuration at boot and lists every problem at once.

import { describe, expect, it } from 'vitest';
import { ConfigError, loadNodeConfig } from '../../../services/node/src/config.ts';

describe('node config', () => {
  it('has working defaults for a named node', () => {
    const config = loadNodeConfig({ NODE_ID: 'replica-1' });
    expect(config).toMatchObject({ nodeId: 'replica-1', role: 'replica', fsync: 'batch', mirrorMode: 'sync', mirrorPolicy: 'degrade', heartbeatMs: 200, failoverTimeoutMs: 1500 });
    expect(config.peers.primary).toBe('http://127.0.0.1:7001');
  });

  it('lists every problem at once', () => {
    try {
      loadNodeConfig({ NODE_ID: 'Bad Id', ROLE: 'leader', FSYNC: 'sometimes', PORT: '99999', PEERS: 'primary=ftp://x', SYNC_TIMEOUT_MS: 'soon' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const problems = (error as ConfigError).problems.join('\n');
      for (const name of ['NODE_ID', 'ROLE', 'FSYNC', 'PORT', 'PEERS', 'SYNC_TIMEOUT_MS']) expect(problems).toContain(name);
    }
  });
});
