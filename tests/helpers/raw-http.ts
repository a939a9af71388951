// HTTP/1.1 over a raw TCP socket, for tests that send what no HTTP client would: nonsense
// methods, paths that do not decode, headers past the limit, a body that stops half-way. Every
// exchange has a deadline: it resolves with the answer, with the server's close, or with the
// deadline, never hangs.

import net from 'node:net';

export interface RawRequest {
  method: string;
  // The request-target exactly as it goes on the wire (not encoded here).
  target: string;
  // In order, as sent; Host and Content-Length are added unless given (see sendRaw).
  headers: Array<[string, string]>;
  body?: Buffer;
  // How the bytes leave:
  //   whole    all at once
  //   trickle  the head and a few bytes of the body, a pause, then the rest
  //   stall    the head and a few bytes of the body, then nothing (the socket stays open);
  //            without a body, the head without its last line break (the headers never end)
  //   cutoff   like stall, then the client half-closes (FIN): the request never completes
  send?: 'whole' | 'trickle' | 'stall' | 'cutoff';
}

export interface RawAnswer {
  // answered: a whole response arrived; closed: the server closed first; deadline: neither in time.
  outcome: 'answered' | 'closed' | 'deadline';
  status: number | null;
  headers: Record<string, string>;
  body: string;
  elapsedMs: number;
  socketError: string | null;
}

export interface RawOptions {
  deadlineMs: number;
  // How long `trickle` pauses in the body.
  pauseMs?: number;
}

const TRICKLE_BYTES = 3;

// The bytes of a request: Host and Content-Length are added when the request does not set them
// (a chunked request sets Transfer-Encoding and frames its own body).
export function requestBytes(request: RawRequest, host: string): { head: Buffer; body: Buffer } {
  const names = new Set(request.headers.map(([name]) => name.toLowerCase()));
  const headers = [...request.headers];
  if (!names.has('host')) headers.unshift(['Host', host]);
  const body = request.body ?? Buffer.alloc(0);
  if (request.body !== undefined && !names.has('content-length') && !names.has('transfer-encoding')) headers.push(['Content-Length', String(body.length)]);
  const head = `${request.method} ${request.target} HTTP/1.1\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`;
  return { head: Buffer.from(head, 'latin1'), body };
}

export function sendRaw(port: number, request: RawRequest, options: RawOptions): Promise<RawAnswer> {
  const started = performance.now();
  const { head, body } = requestBytes(request, `127.0.0.1:${port}`);
  const isHead = request.method === 'HEAD';
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    let socketError: string | null = null;
    let done = false;
    const timers: NodeJS.Timeout[] = [];
    const finish = (outcome: RawAnswer['outcome']) => {
      if (done) return;
      done = true;
      for (const timer of timers) clearTimeout(timer);
      socket.destroy();
      const parsed = parseResponse(received, isHead);
      resolve({
        outcome,
        status: parsed?.status ?? null,
        headers: parsed?.headers ?? {},
        body: parsed?.body ?? received.toString('latin1'),
        elapsedMs: Math.round(performance.now() - started),
        socketError,
      });
    };
    timers.push(setTimeout(() => finish('deadline'), options.deadlineMs));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (parseResponse(received, isHead)?.complete) finish('answered');
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      socketError = error.code ?? error.message;
    });
    socket.on('close', () => finish(parseResponse(received, isHead)?.complete ? 'answered' : 'closed'));
    socket.on('connect', () => {
      const mode = request.send ?? 'whole';
      if (mode === 'whole') {
        socket.write(Buffer.concat([head, body]));
        return;
      }
      const start = body.length > 0 ? Buffer.concat([head, body.subarray(0, TRICKLE_BYTES)]) : head.subarray(0, head.length - 2);
      socket.write(start);
      if (mode === 'trickle') timers.push(setTimeout(() => socket.write(body.subarray(TRICKLE_BYTES)), options.pauseMs ?? 300));
      if (mode === 'cutoff') socket.end();
    });
  });
}

interface ParsedResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  complete: boolean;
}

// The first final (non-1xx) response in `bytes`, and whether all of it has arrived.
function parseResponse(bytes: Buffer, isHead: boolean): ParsedResponse | null {
  let offset = 0;
  for (;;) {
    const end = bytes.indexOf('\r\n\r\n', offset);
    if (end < 0) return null;
    const lines = bytes.subarray(offset, end).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? Number.NaN);
    if (!Number.isInteger(status)) return null;
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const bodyStart = end + 4;
    if (status >= 100 && status < 200) {
      offset = bodyStart;
      continue;
    }
    const rest = bytes.subarray(bodyStart);
    if (isHead || status === 204 || status === 304) return { status, headers, body: '', complete: true };
    if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length']);
      return { status, headers, body: rest.subarray(0, length).toString('utf8'), complete: rest.length >= length };
    }
    if (/chunked/i.test(headers['transfer-encoding'] ?? '')) return { status, headers, ...dechunk(rest) };
    // No framing: the body runs to the close.
    return { status, headers, body: rest.toString('utf8'), complete: false };
  }
}

function dechunk(bytes: Buffer): { body: string; complete: boolean } {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = bytes.indexOf('\r\n', offset);
    if (lineEnd < 0) return { body: Buffer.concat(parts).toString('utf8'), complete: false };
    const size = Number.parseInt(bytes.subarray(offset, lineEnd).toString('latin1'), 16);
    if (!Number.isInteger(size)) return { body: Buffer.concat(parts).toString('utf8'), complete: false };
    if (size === 0) return { body: Buffer.concat(parts).toString('utf8'), complete: bytes.length >= lineEnd + 4 };
    if (bytes.length < lineEnd + 2 + size + 2) return { body: Buffer.concat(parts).toString('utf8'), complete: false };
    parts.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
  }
}
