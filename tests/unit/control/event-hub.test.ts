// Goal: control's event hub keeps a bounded history, sends live-only events (status snapshots)
// without recording them, gives new subscribers nothing old, bounds its subscribers, and keeps
// seq, at and type its own.

import { describe, expect, it } from 'vitest';
import { EventHub } from '../../../services/control/src/events/event-hub.ts';

describe('EventHub', () => {
  it('keeps a bounded history, broadcasts live-only events, and sends subscribers nothing old', () => {
    const hub = new EventHub({ historyMax: 3, subscribersMax: 1 });
    hub.emit('a');
    hub.broadcast('status', { x: 1 });
    const seen: string[] = [];
    const unsubscribe = hub.subscribe((e) => seen.push(e.type));
    expect(unsubscribe).not.toBeNull();
    expect(hub.subscribe(() => {})).toBeNull();
    for (const type of ['b', 'c', 'd']) hub.emit(type, { seq: -1, type: 'ignored', field: type });
    expect(seen).toEqual(['b', 'c', 'd']);
    const history = hub.history();
    expect(history.map((e) => e.type)).toEqual(['b', 'c', 'd']);
    expect(history.map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(history[0]).toMatchObject({ field: 'b' });
    expect(hub.history(4).map((e) => e.type)).toEqual(['d']);
    expect(hub.history(0, 1).map((e) => e.type)).toEqual(['d']);
    unsubscribe?.();
    hub.emit('e');
    expect(seen).toEqual(['b', 'c', 'd']);
  });
});
