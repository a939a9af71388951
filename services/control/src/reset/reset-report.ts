// What a reset answers: the steps it took and, when it could not finish, what needs a hand — each
// with the exact command for how this cluster runs its nodes (compose or the local launcher).

import type { NodeCmd } from '../config.ts';

export interface ResetStep {
  // A stable name (heal-faults, end-pause, copy-modes, move-mirror-slot, mirror-synchronized,
  // planned-failover, steady) and a sentence for a person.
  step: string;
  detail: string;
  // When the step finished, in ms since the reset began.
  atMs: number;
}

export interface ResetTodo {
  what: string;
  command: string;
}

// `docker compose start primary` or `npm run node -- start primary`.
export function startCommand(nodeCmd: NodeCmd, id: string): string {
  return `${nodeCmd} start ${id}`;
}
