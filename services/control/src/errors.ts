// The control service's error catalog: every error it means to send, with a stable code, an HTTP
// status and a message a person can act on. Tests assert the code, never the wording.
// Errors shared by every server (not_found, bad_body, too_large, method_not_allowed, internal) come
// from shared/http-server.ts; this file holds only what is control's own.

import { ApiError } from '../../../shared/http-server.ts';

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
