// The errors every mirrorlab server shares, in one catalog: the stable code, the HTTP status, and
// whether the operation surely did not happen (definite) or may have (indefinite: a timeout after
// the local append). Each service adds its own codes in its own catalog (services/*/src/errors.ts).
// Tests assert codes, never wording. Every answer's body is errorBody(): {"error","message",
// "definite", ...extra}.

export class ApiError extends Error {
  constructor(
    readonly code: string,
    readonly statusCode: number,
    message: string,
    readonly definite = true,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

// `definite` goes on every error body, not only on writes' (SPEC §3 asks it of writes): one shape
// is simpler for clients, and a refused read did not happen either.
export function errorBody(error: ApiError): Record<string, unknown> {
  return { error: error.code, message: error.message, definite: error.definite, ...error.extra };
}

// Every refusal here is definite: the request was turned away before anything acted on it.
export const httpErrors = {
  badRequest: (message: string, statusCode = 400) => new ApiError('bad_request', statusCode, message),
  badBody: (message: string) => new ApiError('bad_body', 400, message),
  unauthorized: () => new ApiError('unauthorized', 401, 'internal routes need Authorization: Bearer <CLUSTER_SECRET> and the sender node id'),
  notFound: (method: string, path: string) => new ApiError('not_found', 404, `no route ${method} ${path}`),
  methodNotAllowed: (message: string, allow?: string) => new ApiError('method_not_allowed', 405, message, true, {}, allow ? { allow } : {}),
  requestTimeout: (ms: number) => new ApiError('request_timeout', 408, `the request did not arrive in full within ${ms} ms; send it at once`),
  tooLarge: (message: string) => new ApiError('too_large', 413, message),
  pathTooLong: () => new ApiError('path_too_long', 414, 'a segment of the path is longer than any id this server knows; check the path'),
  unsupportedMediaType: (message: string) => new ApiError('unsupported_media_type', 415, message),
  expectationFailed: () => new ApiError('expectation_failed', 417, 'this server meets no Expect but 100-continue; send the request without it'),
  headersTooLarge: () => new ApiError('headers_too_large', 431, 'the request line and headers are larger than this server takes (16 KiB); send fewer or shorter headers'),
  // Not the caller's fault, and it may have half happened: the process's log has the details.
  internal: () => new ApiError('internal', 500, 'an internal error occurred; the log of this process has the details', false),
};
