// Goal: control's configuration has the documented defaults and reports every problem of a bad
// environment at once, so an operator fixes them in one go.

import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../services/control/src/config.ts';

describe('control config', () => {
  it('has the documented defaults', () => {
    const result = parseConfig({});
    if (!result.ok) throw new Error(result.problems.join('; '));
    expect(result.config).toMatchObject({
      nodeId: 'control',
      port: 7000,
      host: '0.0.0.0',
      dataDir: '.data/control',
      heartbeatMs: 200,
      failoverTimeoutMs: 1500,
      logLevel: 'info',
    });
    expect(result.config.peers).toEqual([
      { id: 'primary', url: 'http://127.0.0.1:7001' },
      { id: 'mirror', url: 'http://127.0.0.1:7002' },
      { id: 'replica-1', url: 'http://127.0.0.1:7003' },
      { id: 'replica-2', url: 'http://127.0.0.1:7004' },
    ]);
  });

  it('parses PEERS and drops trailing slashes', () => {
    const result = parseConfig({ PEERS: 'primary=http://primary:7001/, mirror=http://mirror:7002' });
    expect(result.ok && result.config.peers).toEqual([
      { id: 'primary', url: 'http://primary:7001' },
      { id: 'mirror', url: 'http://mirror:7002' },
    ]);
  });

  it('lists every problem at once', () => {
    const result = parseConfig({
      PORT: '70000',
      HEARTBEAT_MS: 'fast',
      FAILOVER_TIMEOUT_MS: '100',
      PEERS: 'primary=http://a:1,primary=http://b:2,=http://c:3,mirror=nope',
      LOG_LEVEL: 'loud',
      NODE_ID: 'Control!',
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const text = result.problems.join('\n');
    for (const name of ['PORT', 'HEARTBEAT_MS', 'FAILOVER_TIMEOUT_MS', 'LOG_LEVEL', 'NODE_ID']) expect(text).toContain(name);
    expect(result.problems.filter((p) => p.startsWith('PEERS'))).toHaveLength(3);
  });
});
