// Goal: membership's bookkeeping. Control keeps PEERS and the nodes that registered later in one
// live list (a PEERS entry keeps its URL), refuses a registration that is malformed or made in
// another node's name, is bounded, and persists registrations across a restart. A node merges
// the members it lacks into its peers and never overwrites what it has.

import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Membership } from '../../../services/control/src/membership.ts';
import { loadNodeConfig } from '../../../services/node/src/config.ts';
import { mergeMembers, ownUrls } from '../../../services/node/src/membership.ts';

const logger = pino({ level: 'silent' });
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function membership(membersMax = 12): Promise<{ members: Membership; dataDir: string }> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'mirrorlab-members-'));
  dirs.push(dataDir);
  return { members: new Membership({ configured: [{ id: 'primary', url: 'http://primary:7001' }], dataDir, membersMax, logger }), dataDir };
}

const registration = (id: string, url = `http://${id}:7005`) => ({ id, url, publicUrl: url.replace(id, '127.0.0.1'), region: 'ap', role: 'replica', filter: '' });

describe('control membership', () => {
  it('adds a registered node to the live list, keeps a PEERS URL, and persists across a restart', async () => {
    const { members, dataDir } = await membership();
    const live = members.peers;
    expect((await members.register('replica-3', registration('replica-3'))).joined).toBe(true);
    expect((await members.register('replica-3', registration('replica-3'))).joined).toBe(false);
    await members.register('primary', registration('primary', 'http://elsewhere:7001'));
    expect(live.map((p) => [p.id, p.url])).toEqual([['primary', 'http://primary:7001'], ['replica-3', 'http://replica-3:7005']]);
    expect(members.urls()['replica-3']).toEqual({ url: 'http://replica-3:7005', publicUrl: 'http://127.0.0.1:7005' });

    const again = new Membership({ configured: [{ id: 'primary', url: 'http://primary:7001' }], dataDir, membersMax: 12, logger });
    await again.load();
    expect(again.peers.map((p) => p.id)).toEqual(['primary', 'replica-3']);
  });

  it('refuses a malformed registration, one in another node\'s name, and one past the bound', async () => {
    const { members } = await membership(2);
    await expect(members.register('replica-3', { id: 'replica-3', url: 'ftp://x' })).rejects.toMatchObject({ code: 'bad_member', statusCode: 400 });
    await expect(members.register('replica-4', registration('replica-3'))).rejects.toMatchObject({ code: 'bad_member' });
    await members.register('replica-3', registration('replica-3'));
    await expect(members.register('replica-4', registration('replica-4'))).rejects.toMatchObject({ code: 'too_many_members', statusCode: 409 });
  });
});

describe('node membership', () => {
  it('merges members it lacks, keeps the ones it has, and knows its own URLs', () => {
    const config = loadNodeConfig({ NODE_ID: 'primary', PEERS: 'primary=http://primary:7001,mirror=http://mirror:7002', PUBLIC_PEERS: 'primary=http://127.0.0.1:7001,mirror=http://127.0.0.1:7002' });
    mergeMembers(config, { mirror: { url: 'http://other:1', publicUrl: 'http://other:1' }, 'replica-3': { url: 'http://replica-3:7005', publicUrl: 'http://127.0.0.1:7005' }, bad: { url: 3 } }, logger);
    expect(config.peers).toEqual({ primary: 'http://primary:7001', mirror: 'http://mirror:7002', 'replica-3': 'http://replica-3:7005' });
    expect(config.publicPeers['replica-3']).toBe('http://127.0.0.1:7005');
    expect(ownUrls(config)).toEqual({ url: 'http://primary:7001', publicUrl: 'http://127.0.0.1:7001' });
    mergeMembers(config, null, logger);
    expect(Object.keys(config.peers)).toHaveLength(3);
  });
});
