// The control service's error catalog: every error it means to send, with a stable code, an HTTP
// status, whether it is definite, and a message a person can act on. Tests assert the code, never
// the wording. Errors shared by every server (not_found, bad_body, bad_request, too_large,
// method_not_allowed, internal, ...) come from shared/http-errors.ts; this file holds control's own.
// The witness's refusals are all definite: they come before it changed its record or told anyone.

import { ApiError } from '../../../shared/http-errors.ts';

export const controlErrorCodes = {
  unknownNode: 'unknown_node',
  badFault: 'bad_fault',
  faultNotFound: 'fault_not_found',
  tooManyFaults: 'too_many_faults',
  badPause: 'bad_pause',
  nodeUnreachable: 'node_unreachable',
  badLoad: 'bad_load',
  badReset: 'bad_reset',
  resetIncomplete: 'reset_incomplete',
  badMember: 'bad_member',
  tooManyMembers: 'too_many_members',
  badMode: 'bad_mode',
  noPrimary: 'no_primary',
  tooManySubscribers: 'too_many_subscribers',
  staleEpoch: 'stale_epoch',
  alreadyPrimary: 'already_primary',
  notSynchronized: 'not_synchronized',
  stepDownFailed: 'step_down_failed',
  candidateUnreachable: 'unreachable',
  badMirrorNode: 'bad_node',
  mirrorSlotTaken: 'mirror_slot_taken',
} as const;

// A request named a node control does not know; the answer lists the valid ids so the caller can
// correct it without reading the docs.
export function unknownNodeError(id: string, validIds: readonly string[]): ApiError {
  return new ApiError(
    controlErrorCodes.unknownNode,
    400,
    `unknown node ${JSON.stringify(id)}; valid ids are ${validIds.join(', ')}`,
    true,
    { valid: validIds },
  );
}

// A fault request control cannot turn into a rule: every problem, and the values that are valid.
export function badFaultError(problems: readonly string[], valid: Record<string, unknown>): ApiError {
  return new ApiError(controlErrorCodes.badFault, 400, problems.join('; '), true, { valid });
}

// DELETE /faults/:id with an id that is not (or no longer) in the table.
export function faultNotFoundError(id: string, validIds: readonly string[]): ApiError {
  const known = validIds.length > 0 ? `active rules: ${validIds.join(', ')}` : 'no rule is active';
  return new ApiError(controlErrorCodes.faultNotFound, 404, `no fault rule ${JSON.stringify(id)}; ${known}`, true, { valid: validIds });
}

export function tooManyFaultsError(max: number): ApiError {
  return new ApiError(controlErrorCodes.tooManyFaults, 409, `${max} fault rules are active, the most control keeps; delete some (DELETE /faults/:id) or heal all (DELETE /faults)`);
}

export function badPauseError(problems: readonly string[], msMax: number): ApiError {
  return new ApiError(controlErrorCodes.badPause, 400, problems.join('; '), true, { valid: { ms: { min: 1, max: msMax } } });
}

// A pause or crash could not be delivered. Indefinite: a request that timed out may have arrived.
export function nodeUnreachableError(id: string, reason: string): ApiError {
  return new ApiError(controlErrorCodes.nodeUnreachable, 503, `${id} did not take the command: ${reason}; it may be down or already paused`, false);
}

// POST /load with settings the generator cannot run: every problem, and the bounds.
export function badLoadError(problems: readonly string[], valid: Record<string, unknown>): ApiError {
  return new ApiError(controlErrorCodes.badLoad, 400, problems.join('; '), true, { valid });
}

// POST /cluster/reset with a body it cannot use.
export function badResetError(problems: readonly string[], valid: Record<string, unknown>): ApiError {
  return new ApiError(controlErrorCodes.badReset, 400, problems.join('; '), true, { valid });
}

// A reset did what it could; what is left needs a person (a node to start, a pause to wait out).
// The body carries the steps done and the `todo` list, each item with the exact command.
export function resetIncompleteError(todo: ReadonlyArray<{ what: string; command: string }>, extra: Record<string, unknown>): ApiError {
  const message = `the reset could not finish: ${todo.map((t) => t.what).join('; ')}; run the command of each todo item, then reset again`;
  return new ApiError(controlErrorCodes.resetIncomplete, 409, message, true, { todo, ...extra });
}

// POST /internal/members with a registration control cannot take.
export function badMemberError(problems: readonly string[]): ApiError {
  return new ApiError(controlErrorCodes.badMember, 400, problems.join('; '), true, { valid: { fields: ['id', 'url', 'publicUrl', 'region', 'role', 'filter'] } });
}

export function tooManyMembersError(max: number): ApiError {
  return new ApiError(controlErrorCodes.tooManyMembers, 409, `control knows ${max} data nodes already, the most it keeps; a node joins only in place of one in PEERS`);
}

// PUT /cluster/modes naming nodes or modes that do not exist.
export function badModeError(problems: readonly string[], copies: readonly string[]): ApiError {
  return new ApiError(controlErrorCodes.badMode, 400, problems.join('; '), true, { valid: { copies, modes: ['sync', 'async'] } });
}

// A lever that needs the primary found none answering.
export function noPrimaryError(what: string): ApiError {
  return new ApiError(controlErrorCodes.noPrimary, 503, `no primary answers right now; ${what}`);
}

export function tooManySubscribersError(max: number): ApiError {
  return new ApiError(controlErrorCodes.tooManySubscribers, 503, `${max} subscribers already listen; retry later`);
}

// ---- the witness ----

export function witnessStaleEpochError(id: string, epoch: number, record: { primaryId: string | null; epoch: number }, view: Record<string, unknown>): ApiError {
  return new ApiError(controlErrorCodes.staleEpoch, 409, `${id} is not the primary at epoch ${epoch}; the primary is ${record.primaryId} at epoch ${record.epoch}`, true, view);
}

export function alreadyPrimaryError(id: string): ApiError {
  return new ApiError(controlErrorCodes.alreadyPrimary, 409, `${id} is already the primary`);
}

export function notSynchronizedError(mirrorId: string | null, synchronized: boolean, to: string): ApiError {
  return new ApiError(
    controlErrorCodes.notSynchronized,
    409,
    `a planned failover goes to the synchronized mirror (${mirrorId ?? 'none'}${synchronized ? '' : ', not synchronized now'}); use "force": true to promote ${to} anyway and lose what it lacks`,
  );
}

export function stepDownFailedError(reason: string): ApiError {
  return new ApiError(controlErrorCodes.stepDownFailed, 503, `the primary could not hand over: ${reason}; nothing changed`);
}

// A forced failover's target does not answer. Definite: nothing was changed or announced.
export function candidateUnreachableError(id: string): ApiError {
  return new ApiError(controlErrorCodes.candidateUnreachable, 503, `${id} does not answer; it cannot be promoted`);
}

export function badMirrorNodeError(node: string, valid: readonly string[]): ApiError {
  return new ApiError(controlErrorCodes.badMirrorNode, 400, `"${node}" cannot be the mirror (valid: ${valid.join(', ')})`, true, { valid });
}

export function mirrorSlotTakenError(holder: string, node: string): ApiError {
  return new ApiError(
    controlErrorCodes.mirrorSlotTaken,
    409,
    `${holder} holds the mirror slot and there is only one; to move it, send {"node":"${node}","replace":true} (${holder} becomes a replica)`,
    true,
    { mirror: holder },
  );
}
