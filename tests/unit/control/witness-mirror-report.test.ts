// Goal: the witness records "the mirror is synchronized" only about the node that holds the mirror
// slot now. A late report about a former holder (the slot moved meanwhile) must not mark the new
// holder synchronized, or an automatic failover could promote a mirror lacking acknowledged writes.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Link } from '../../../shared/link.ts';
import { parseConfig } from '../../../services/control/src/config.ts';
import { Witness } from '../../../services/control/src/witness/witness.ts';

const dirs: string[] = [];
const links: Link[] = [];

afterEach(async () => {
  for (const link of links.splice(0)) await link.close();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function witnessWithSlot(mirrorId: string): Promise<Witness> {
  const dir = await mkdtemp(join(tmpdir(), 'mirrorlab-witness-'));
  dirs.push(dir);
  const config = parseConfig({ DATA_DIR: dir });
  if (!config.ok) throw new Error(config.problems.join('; '));
  const link = new Link('control');
  links.push(link);
  const witness = new Witness(config.config, pino({ level: 'silent' }), link, () => undefined);
  await witness.load();
  // The primary's first heartbeat makes the witness adopt it and its mirror slot.
  await witness.heartbeat('primary', { role: 'primary', epoch: 1, lsn: 0, mirrorId });
  return witness;
}

describe('witness: mirror reports name their mirror', () => {
  it('records a synchronized report about the slot holder', async () => {
    const witness = await witnessWithSlot('mirror');
    const answer = await witness.mirrorState('primary', { epoch: 1, mirrorId: 'mirror', synchronized: true, seq: 1 });
    expect(answer.consent).toBe(true);
    expect(witness.record.mirrorSynchronized).toBe(true);
  });

  it('ignores a synchronized report about a former slot holder, and consents to releasing it', async () => {
    const witness = await witnessWithSlot('replica-1');
    const late = await witness.mirrorState('primary', { epoch: 1, mirrorId: 'mirror', synchronized: true, seq: 5 });
    expect(late.consent).toBe(false);
    expect(witness.record.mirrorSynchronized).toBe(false);
    const release = await witness.mirrorState('primary', { epoch: 1, mirrorId: 'mirror', synchronized: false, seq: 6 });
    expect(release.consent).toBe(true);
    // The holder's own report still counts afterwards (its seq is newer than any recorded).
    await witness.mirrorState('primary', { epoch: 1, mirrorId: 'replica-1', synchronized: true, seq: 7 });
    expect(witness.record.mirrorSynchronized).toBe(true);
  });
});
