// What every mirrorlab HTTP server shares: strict validation (no type coercion, unknown fields
// refused), JSON errors of the form {"error","message"}, and never a stack trace on the wire.

import { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions, LogController } from 'fastify';
import type { Logger } from 'pino';

// An error the API means to send: stable code, status, and whether the operation surely did not
// happen (definite) or may have happened (indefinite, e.g. a timeout after the local append).
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

export function serverOptions(logger: Logger, bodyLimit: number): FastifyServerOptions {
  return {
    loggerInstance: logger,
    bodyLimit,
    // Request lines would drown the role and replication lines a workshop wants to read.
    logController: new LogController({ disableRequestLogging: true }),
    // Return 404 for a route, 405 is set per route family by the services.
    ajv: {
      customOptions: {
        coerceTypes: false,
        removeAdditional: false,
        useDefaults: true,
        allErrors: true,
      },
    },
  } as FastifyServerOptions;
}

// Fastify's own error codes mapped to ours.
function fromFastifyError(error: FastifyError): ApiError {
  if (error.validation) {
    return new ApiError('bad_request', 400, `invalid request: ${error.message}`);
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError('too_large', 413, `the body is larger than the limit of ${error.message.match(/\d+/)?.[0] ?? 'the server'} bytes`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError('unsupported_media_type', 415, 'send Content-Type application/json (or text/plain for a raw string)');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError('bad_body', 400, 'the body is empty; send a JSON value');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ApiError('bad_body', 400, `the body is not valid JSON: ${error.message}`);
  }
  if (error.statusCode === 400 && error instanceof SyntaxError) {
    return new ApiError('bad_body', 400, `the body is not valid JSON: ${error.message}`);
  }
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    return new ApiError('bad_request', error.statusCode, error.message);
  }
  return new ApiError('internal', 500, 'an internal error occurred; the log of this process has the details', false);
}

export function sendApiError(reply: FastifyReply, error: ApiError): FastifyReply {
  for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
  return reply.code(error.statusCode).send({ error: error.code, message: error.message, ...error.extra });
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | ApiError, request: FastifyRequest, reply: FastifyReply) => {
    const apiError = error instanceof ApiError ? error : fromFastifyError(error);
    if (apiError.statusCode >= 500 && !(error instanceof ApiError)) {
      request.log.error({ err: error, url: request.url }, 'request failed');
    }
    return sendApiError(reply, apiError);
  });
  app.setNotFoundHandler((request, reply) =>
    sendApiError(reply, new ApiError('not_found', 404, `no route ${request.method} ${request.url.split('?')[0]}`)),
  );
}

// Registers 405 answers for the methods a path does not take.
export function refuseOtherMethods(app: FastifyInstance, url: string, allowed: readonly string[]): void {
  const all = ['GET', 'PUT', 'POST', 'DELETE', 'PATCH'] as const;
  const refused = all.filter((m) => !allowed.includes(m) && !(m === 'GET' && allowed.includes('HEAD')));
  if (refused.length === 0) return;
  app.route({
    method: refused,
    url,
    handler: async (_request, reply) =>
      sendApiError(
        reply.header('allow', allowed.join(', ')),
        new ApiError('method_not_allowed', 405, `use ${allowed.join(' or ')} on this path`),
      ),
  });
}

// Internal routes need the cluster secret and the sender's id.
export function checkClusterSecret(request: FastifyRequest, secret: string): ApiError | null {
  const auth = request.headers.authorization;
  const sender = request.headers['x-mirrorlab-node'];
  if (auth !== `Bearer ${secret}` || typeof sender !== 'string' || sender.length === 0) {
    request.log.warn({ url: request.url, sender, ip: request.ip }, 'internal request refused: bad or missing cluster secret');
    return new ApiError('unauthorized', 401, 'internal routes need Authorization: Bearer <CLUSTER_SECRET> and the sender node id');
  }
  return null;
}
