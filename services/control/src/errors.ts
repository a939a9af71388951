// The control service's error catalog: every error it means to send, with a stable code, an HTTP
// status and a message a person can act on. Tests assert the code, never the wording.
// Errors shared by every server (not_found, bad_body, too_large, method_not_allowed, internal) come
// from shared/http-server.ts; this file holds only what is control's own.

import { ApiError } from '../../../shared/http-server.ts';

export const controlErrorCodes = {
  unknownNode: 'unknown_node',
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
