// What every mirrorlab HTTP server shares: strict validation (no type coercion, unknown fields
// refused), JSON errors of the form {"error","message","definite"}, and never a stack trace on the
// wire. Every way a request can be bad ends here, whichever layer notices it first:
//   - the socket (not HTTP at all, headers too large, too slow):  answerClientError
//   - the router (a path that does not decode, a segment too long): frameworkErrors
//   - a WebSocket handshake that ws refuses:                         answerWebSocketClientError
//   - the body parser, a schema, a handler, a hook:                  the error handler
//   - no route:                                                      the not-found handler

import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  type ConnectionError,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifySchemaValidationError,
  type FastifyServerOptions,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import type { WebSocketServer } from 'ws';
import { ApiError, errorBody, httpErrors } from './http-errors.ts';
import { limits } from './limits.ts';

export function serverOptions(logger: Logger, bodyLimit: number): FastifyServerOptions {
  return {
    loggerInstance: logger,
    bodyLimit,
    // Request lines would drown the role and replication lines a workshop wants to read.
    logController: new LogController({ disableRequestLogging: true }),
    // A request must arrive in full within requestReceiveMsMax (Fastify's default 0 waits forever
    // for a stalled body); Node checks every requestCheckIntervalMs and answers 408.
    requestTimeout: limits.requestReceiveMsMax,
    http: {
      requestTimeout: limits.requestReceiveMsMax,
      headersTimeout: limits.requestReceiveMsMax,
      connectionsCheckingInterval: limits.requestCheckIntervalMs,
      // Node refuses a request without Host with an empty 400; refuseMalformedRequests answers it.
      requireHostHeader: false,
    },
    clientErrorHandler: answerClientError,
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      sendApiError(reply, fromFastifyError(error, request));
    },
    schemaErrorFormatter: (errors, part) => invalidRequest(errors, part),
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

// A schema refused part of the request: every problem, in words, and for a body the shape to send.
function invalidRequest(errors: FastifySchemaValidationError[], part: string, shape?: string): ApiError {
  const problems = errors.slice(0, 10).map((e) => {
    const where = `${part}${e.instancePath}`;
    if (e.keyword === 'additionalProperties') return `${where} has an unknown field "${String(e.params.additionalProperty)}"`;
    return `${where} ${e.message ?? 'is invalid'}`;
  });
  const message = `${problems.join('; ')}${shape ? `; send ${shape}` : ''}`;
  return part === 'body' ? httpErrors.badBody(message) : httpErrors.badRequest(message);
}

// Route options that validate the body against a JSON schema before any hook or handler sees it,
// and answer 400 bad_body with every problem and the shape to send. A route whose body is a fixed
// shape should say additionalProperties: false, so an unknown field is refused, not ignored.
// Raw bytes (a server that parses application/octet-stream) are refused first: Ajv takes a Buffer
// for an object, so `{}` with no fields allowed would let any bytes through.
export function bodySchema(schema: Record<string, unknown>, shape: string) {
  return {
    schema: { body: schema },
    schemaErrorFormatter: (errors: FastifySchemaValidationError[], part: string) => invalidRequest(errors, part, shape),
    preValidation: async (request: FastifyRequest) => {
      if (Buffer.isBuffer(request.body)) throw httpErrors.unsupportedMediaType(`send Content-Type application/json: ${shape}`);
    },
  };
}

// Fastify's own error codes mapped to ours.
function fromFastifyError(error: FastifyError, request: FastifyRequest): ApiError {
  if (error.validation) return invalidRequest(error.validation, error.validationContext ?? 'request');
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      // The limit in force for this route (a route may set its own), as configured.
      return httpErrors.tooLarge(`the body is larger than the limit of ${request.routeOptions.bodyLimit} bytes`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return httpErrors.unsupportedMediaType('send Content-Type application/json (or text/plain for a raw string)');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return httpErrors.badBody('the body is empty; send a JSON value');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return httpErrors.badBody(`the body is not valid JSON: ${error.message}`);
    case 'FST_ERR_BAD_URL':
      return httpErrors.badRequest('the path is not a valid URL (a % must start an escape such as %2F)');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return httpErrors.pathTooLong();
  }
  if (error.statusCode === 400 && error instanceof SyntaxError) {
    return httpErrors.badBody(`the body is not valid JSON: ${error.message}`);
  }
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    return httpErrors.badRequest(error.message, error.statusCode);
  }
  return httpErrors.internal();
}

export function sendApiError(reply: FastifyReply, error: ApiError): FastifyReply {
  for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
  return reply.code(error.statusCode).send(errorBody(error));
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | ApiError, request: FastifyRequest, reply: FastifyReply) => {
    const apiError = error instanceof ApiError ? error : fromFastifyError(error, request);
    if (apiError.statusCode >= 500 && !(error instanceof ApiError)) {
      request.log.error({ err: error, url: request.url }, 'request failed');
    }
    // Fastify closes the connection after a body it refused. With the rest of a large body still
    // arriving, the close resets the connection and the client may never read the 413. Kept
    // open, Node reads and discards the rest (within requestReceiveMsMax), then the client hangs up.
    if (apiError.statusCode === 413) reply.removeHeader('connection');
    return sendApiError(reply, apiError);
  });
  app.setNotFoundHandler((request, reply) =>
    sendApiError(reply, httpErrors.notFound(request.method, request.url.split('?')[0] ?? '')),
  );
  refuseMalformedRequests(app);
  answerNodeRefusals(app);
  parseJsonBounded(app);
  // ws answers a bad handshake in text/html unless someone listens for its client errors.
  app.addHook('onReady', async () => {
    if (app.hasDecorator('websocketServer')) {
      (app as FastifyInstance & { websocketServer: WebSocketServer }).websocketServer.on('wsClientError', answerWebSocketClientError);
    }
  });
}

// Refusals that need the headers only, before any body is read.
function refuseMalformedRequests(app: FastifyInstance): void {
  app.addHook('onRequest', async (request) => {
    // A path, or an absolute URL (RFC 9112 §3.2); `GET *` would otherwise reach the dashboard's /.
    if (!request.url.startsWith('/') && !/^https?:\/\//i.test(request.url)) {
      throw httpErrors.badRequest(`the request target must be a path starting with / (got ${JSON.stringify(request.url.slice(0, 40))})`);
    }
    if (request.raw.httpVersion === '1.1' && request.headers.host === undefined) {
      throw httpErrors.badRequest('an HTTP/1.1 request needs a Host header');
    }
    // Nothing here undoes a content or transfer coding other than chunked: a gzip body would be
    // taken for JSON or stored as garbled text. Refuse it (RFC 9110 §15.5.16).
    const encoding = request.headers['content-encoding'];
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
      throw httpErrors.unsupportedMediaType(`send the body uncompressed: this server takes no Content-Encoding (got ${JSON.stringify(encoding.slice(0, 40))})`);
    }
    const transfer = request.headers['transfer-encoding'];
    if (transfer !== undefined && transfer.trim().toLowerCase() !== 'chunked') {
      throw httpErrors.badRequest(`this server takes Transfer-Encoding: chunked alone (got ${JSON.stringify(transfer.slice(0, 40))})`);
    }
  });
}

// Requests Node answers itself, with an empty body, unless someone listens: an Expect other than
// 100-continue (417), and CONNECT (Node drops the socket without a word).
function answerNodeRefusals(app: FastifyInstance): void {
  app.server.on('checkExpectation', (_request: IncomingMessage, response: ServerResponse) => {
    const body = JSON.stringify(errorBody(httpErrors.expectationFailed()));
    response.writeHead(417, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' });
    response.end(body);
  });
  app.server.on('connect', (_request: IncomingMessage, socket: Duplex) => {
    answerAndClose(socket, httpErrors.methodNotAllowed('this server is no proxy: it does not serve CONNECT'));
    socket.resume();
  });
}

// Fastify's JSON parser (with its __proto__ and constructor checks), behind a bound on nesting.
function parseJsonBounded(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    if (jsonDepthExceeds(text, limits.jsonDepthMax)) {
      done(httpErrors.badBody(`the body nests arrays and objects more than ${limits.jsonDepthMax} levels deep`), undefined);
      return;
    }
    parseJson(request, text, done);
  });
}

// True when arrays and objects in a JSON text nest deeper than `depthMax`. A linear scan that skips
// strings; it does not validate (the parser does), so on malformed text its answer is a guess.
export function jsonDepthExceeds(text: string, depthMax: number): boolean {
  // Each level takes an opening and a closing character.
  if (text.length <= 2 * depthMax) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > depthMax) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}

// Registers 405 answers for the methods a path does not take.
export function refuseOtherMethods(app: FastifyInstance, url: string, allowed: readonly string[]): void {
  const all = ['GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS'] as const;
  const refused = all.filter((m) => !allowed.includes(m) && !(m === 'GET' && allowed.includes('HEAD')));
  if (refused.length === 0) return;
  app.route({
    method: refused,
    url,
    handler: async (_request, reply) =>
      sendApiError(
        reply.header('allow', allowed.join(', ')),
        httpErrors.methodNotAllowed(`use ${allowed.join(' or ')} on this path`),
      ),
  });
}

// Internal routes need the cluster secret and the sender's id.
export function checkClusterSecret(request: FastifyRequest, secret: string): ApiError | null {
  const auth = request.headers.authorization;
  const sender = request.headers['x-mirrorlab-node'];
  if (auth !== `Bearer ${secret}` || typeof sender !== 'string' || sender.length === 0) {
    request.log.warn({ url: request.url, sender, ip: request.ip }, 'internal request refused: bad or missing cluster secret');
    return httpErrors.unauthorized();
  }
  return null;
}

// ---- Refusals below HTTP routing: written to the socket, which is then closed ----

// Sockets answered by answerAndClose: Node's parser keeps reading them (and erring) until they close.
const refusedSockets = new WeakSet<Duplex>();

// Node's parser refused what arrived on a socket (not HTTP, headers over the limit, too slow).
// Fastify's default answers in its own shape; this one answers in ours. Like Node's default, it
// answers only when no answer of an earlier request is on its way (it would corrupt that one).
function answerClientError(this: FastifyInstance, error: ConnectionError, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed || refusedSockets.has(socket)) return;
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (!socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  this.log.debug({ err: error }, 'refused a malformed request');
  answerAndClose(socket, clientErrorOf(error));
}

function clientErrorOf(error: ConnectionError): ApiError {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return httpErrors.headersTooLarge();
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return httpErrors.requestTimeout(limits.requestReceiveMsMax);
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return httpErrors.tooLarge('the chunk extensions are larger than this server takes');
    case 'HPE_INVALID_EOF_STATE':
      return httpErrors.badRequest('the connection was closed before the whole request arrived (a body shorter than its Content-Length?)');
    case 'HPE_INVALID_METHOD':
      return httpErrors.badRequest('the method is not an HTTP method this server knows; use GET, PUT, POST or DELETE');
    default:
      return httpErrors.badRequest(`the request is not valid HTTP/1.1 (${error.code ?? 'unreadable'})`);
  }
}

// ws refused a WebSocket handshake (no or bad Sec-WebSocket-Key, an unknown version, not a GET...).
function answerWebSocketClientError(error: Error, socket: Duplex, request: { method?: string }): void {
  if (socket.destroyed) return;
  const refusal =
    request.method === 'GET'
      ? httpErrors.badRequest(`not a valid WebSocket handshake: ${error.message}`)
      : httpErrors.methodNotAllowed('a WebSocket opens with GET', 'GET');
  answerAndClose(socket, refusal);
  // No HTTP parser reads an upgraded socket any more: discard what still arrives.
  socket.resume();
}

// Writes a whole HTTP answer to a raw socket, then half-closes it: the peer reads the answer and
// hangs up. Destroying at once would reset a connection with unread input (the rest of a 20 KB
// header), and the peer could lose the answer. A peer that neither reads nor hangs up is cut off
// after refusedSocketFlushMsMax: a refused client never holds a socket.
function answerAndClose(socket: Duplex, error: ApiError): void {
  refusedSockets.add(socket);
  const body = JSON.stringify(errorBody(error));
  const headers = Object.entries(error.headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  const timer = setTimeout(() => socket.destroy(), limits.refusedSocketFlushMsMax);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  socket.end(
    `HTTP/1.1 ${error.statusCode} ${STATUS_CODES[error.statusCode] ?? 'Error'}\r\n` +
      `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${headers}connection: close\r\n\r\n${body}`,
  );
}
