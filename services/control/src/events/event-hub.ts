// The event hub: every event control tells the dashboard and other subscribers goes through here —
// fault changes, pauses and crashes, node events collected from the data nodes (role changes,
// mirror states, resyncs), witness and failover decisions, and the live status snapshots.
// Every event is {seq, at, type, ...fields}; seq grows by one per event.
//
// Two kinds: emit() records the event in a bounded history (GET /events/history, the timeline)
// and sends it to subscribers; broadcast() only sends it (status snapshots and write rates, four
// a second: kept, they would push every meaningful event out of the history within minutes).
// A new subscriber receives only what happens after it subscribed, unless it asks for history.

export interface ControlEvent {
  seq: number;
  at: string;
  type: string;
  [field: string]: unknown;
}

export type EventListener = (event: ControlEvent) => void;

export interface EventHubOptions {
  historyMax: number;
  subscribersMax: number;
  // Called for every event, recorded or not (metrics).
  onEvent?: (event: ControlEvent) => void;
}

export class EventHub {
  private seq = 0;
  private readonly ring: ControlEvent[] = [];
  private readonly listeners = new Set<EventListener>();

  constructor(private readonly options: EventHubOptions) {}

  // Records the event and sends it to every subscriber. Fields named seq, at or type are the
  // hub's and cannot be overridden. An arrow property, so `hub.emit` can be handed to any module.
  readonly emit = (type: string, fields: Record<string, unknown> = {}): ControlEvent => {
    const event = this.make(type, fields);
    this.ring.push(event);
    if (this.ring.length > this.options.historyMax) this.ring.splice(0, this.ring.length - this.options.historyMax);
    this.deliver(event);
    return event;
  };

  // Sends the event to subscribers without recording it.
  readonly broadcast = (type: string, fields: Record<string, unknown> = {}): ControlEvent => {
    const event = this.make(type, fields);
    this.deliver(event);
    return event;
  };

  // Recorded events with seq above `after`, oldest first, at most `limit` (the newest ones).
  history(after = 0, limit = this.options.historyMax): ControlEvent[] {
    const found = this.ring.filter((e) => e.seq > after);
    return found.slice(Math.max(0, found.length - limit));
  }

  get lastSeq(): number {
    return this.seq;
  }

  get subscriberCount(): number {
    return this.listeners.size;
  }

  // Adds a subscriber; returns its unsubscribe function, or null when the hub is full.
  subscribe(listener: EventListener): (() => void) | null {
    if (this.listeners.size >= this.options.subscribersMax) return null;
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private make(type: string, fields: Record<string, unknown>): ControlEvent {
    return { ...fields, seq: ++this.seq, at: new Date().toISOString(), type };
  }

  // A subscriber that throws is its own problem: the others still get the event.
  private deliver(event: ControlEvent): void {
    this.options.onEvent?.(event);
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch {
        this.listeners.delete(listener);
      }
    }
  }
}
