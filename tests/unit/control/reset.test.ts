// Goal: the pure parts of POST /cluster/reset — the pause book it waits on, the copy modes it sets
// (only those that differ from the starting point), and the start commands of its todo list.

import { describe, expect, it } from 'vitest';
import { PauseBook } from '../../../services/control/src/faults/pause-book.ts';
import { startCommand } from '../../../services/control/src/reset/reset-report.ts';
import { viewShowsSteady, wantedModes } from '../../../services/control/src/reset/reset-run.ts';

describe('pause book', () => {
  it('keeps one pause per node, the later end, and forgets ended ones', () => {
    const book = new PauseBook();
    book.record('primary', 3000, 1000);
    book.record('primary', 1000, 1500);
    book.record('mirror', 500, 1000);
    expect(book.active(1200)).toEqual([
      { nodeId: 'mirror', untilMs: 1500 },
      { nodeId: 'primary', untilMs: 4000 },
    ]);
    expect(book.active(2000)).toEqual([{ nodeId: 'primary', untilMs: 4000 }]);
    expect(book.active(4000)).toEqual([]);
  });
});

describe('reset copy modes', () => {
  it('asks for sync on the mirror and async on replicas, only where they differ', () => {
    const status = {
      mirror: { id: 'mirror', mode: 'async' },
      replicas: [
        { id: 'replica-1', mode: 'sync' },
        { id: 'replica-2', mode: 'async' },
      ],
    };
    expect(wantedModes(status)).toEqual({ mirror: 'sync', 'replica-1': 'async' });
    expect(wantedModes({ mirror: { id: 'mirror', mode: 'sync' }, replicas: [{ id: 'replica-1', mode: 'async' }] })).toEqual({});
    expect(wantedModes({ mirror: null, replicas: [] })).toEqual({});
  });

  it('spells start commands for compose and the local launcher', () => {
    expect(startCommand('docker compose', 'primary')).toBe('docker compose start primary');
    expect(startCommand('npm run node --', 'primary')).toBe('npm run node -- start primary');
  });
});

describe('reset waits for the cached view', () => {
  const view = (mirrorState: string, connected: boolean) => ({
    primary: 'primary',
    epoch: 3,
    nodes: { primary: { id: 'primary', role: 'primary', epoch: 3, mirror: { id: 'mirror', mode: 'sync', state: mirrorState }, replicas: [{ id: 'replica-1', connected }] } },
    faults: [],
    updatedAt: '',
  });
  it('counts only a view with the primary, its synchronized sync mirror and connected replicas', () => {
    expect(viewShowsSteady(view('synchronized', true), 'primary', 'mirror')).toBe(true);
    expect(viewShowsSteady(view('synchronizing', true), 'primary', 'mirror')).toBe(false);
    expect(viewShowsSteady(view('synchronized', false), 'primary', 'mirror')).toBe(false);
    expect(viewShowsSteady(view('synchronized', true), 'mirror', 'primary')).toBe(false);
  });
});
