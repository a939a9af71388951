// Events this node has to tell (role changes, mirror state changes, resyncs...), kept in a bounded
// ring with a sequence number so control can collect them without missing or repeating any.

import { randomUUID } from 'node:crypto';
import { limits } from '../../../shared/limits.ts';

export interface NodeEvent {
  seq: number;
  at: string;
  type: string;
  nodeId: string;
  [field: string]: unknown;
}

export class NodeEvents {
  // Sequence numbers start over when the process does; a collector that sees another bootId
  // knows its cursor is meaningless and reads from the start.
  readonly bootId = randomUUID();
  private readonly ring: NodeEvent[] = [];
  private seq = 0;
  private readonly listeners: Array<(event: NodeEvent) => void> = [];

  constructor(private readonly nodeId: string) {}

  emit(type: string, fields: Record<string, unknown> = {}): NodeEvent {
    const event: NodeEvent = { ...fields, seq: ++this.seq, at: new Date().toISOString(), type, nodeId: this.nodeId };
    this.ring.push(event);
    if (this.ring.length > limits.eventHistoryMax) this.ring.splice(0, this.ring.length - limits.eventHistoryMax);
    for (const listener of this.listeners) listener(event);
    return event;
  }

  // The sequence number of the newest event (0 before the first).
  get lastSeq(): number {
    return this.seq;
  }

  // Events with a sequence number above `seq`, oldest first.
  after(seq: number): NodeEvent[] {
    return this.ring.filter((e) => e.seq > seq);
  }

  onEvent(listener: (event: NodeEvent) => void): void {
    this.listeners.push(listener);
  }
}
