// The pauses control has sent (POST /nodes/:id/pause): which node's event loop is stopped, and
// until when. A pause cannot be ended early — the node's event loop is really stopped — so this
// book only tells a reset how long to wait for a node to answer again. One entry per node at most
// (a later pause replaces an earlier one), so the book is bounded by the member count.

export interface ActivePause {
  nodeId: string;
  untilMs: number;
}

export class PauseBook {
  private readonly pauses = new Map<string, number>();

  // The node took a pause of `ms` at `nowMs`.
  record(nodeId: string, ms: number, nowMs = Date.now()): void {
    this.pauses.set(nodeId, Math.max(this.pauses.get(nodeId) ?? 0, nowMs + ms));
  }

  // Pauses not yet over at `nowMs`, soonest end first; ended ones are forgotten.
  active(nowMs = Date.now()): ActivePause[] {
    const found: ActivePause[] = [];
    for (const [nodeId, untilMs] of this.pauses) {
      if (untilMs <= nowMs) this.pauses.delete(nodeId);
      else found.push({ nodeId, untilMs });
    }
    return found.sort((a, b) => a.untilMs - b.untilMs);
  }
}
