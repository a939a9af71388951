// The launcher's local control endpoint: HTTP on a unix socket at `<DATA_ROOT>/launcher.sock`.
// `npm run node -- kill|stop|start <id>` asks the running launcher to act, so a restarted service is
// again the launcher's child with prefixed logs (what `docker compose kill|stop|start` does).
// A socket file, not a TCP port: only local users with access to the data root can reach it.
//
//   POST /services/<id>/<kill|stop|start>  200 {"id","action","pid","message"}
//                                          404 {"error":"unknown_service","message"}; 400 bad action
//        start takes an optional body {"env":{"REPLICA_FILTER":"user/"}}: settings of the service
//        that a person may give from the shell (ServiceSpec.shellEnv); 400 bad_env for others, 409
//        service_running when the service runs with other ones (stop it first, as compose would
//        recreate it). They stay the service's settings for later starts and restarts.
//   GET  /services                         200 {"services":[{"id","running","pid"}]}

import { existsSync, unlinkSync } from 'node:fs';
import http from 'node:http';

export const launcherActions = ['kill', 'stop', 'start'] as const;
export type LauncherAction = (typeof launcherActions)[number];

export interface LauncherControl {
  ids(): string[];
  isRunning(id: string): boolean;
  pid(id: string): number | null;
  // Carries out the action; resolves once it is done (process exited, or spawned).
  act(action: LauncherAction, id: string): Promise<void>;
  // The service variables a start may set (ServiceSpec.shellEnv), and the ones it runs with.
  settable(id: string): string[];
  settings(id: string): Record<string, string>;
  configure(id: string, env: Record<string, string>): void;
}

export interface LauncherReply {
  status: number;
  body: Record<string, unknown>;
}

// Past this the client gives up: a stop waits up to 10 s for SIGTERM before SIGKILL.
const CALL_TIMEOUT_MS = 30_000;
// A start's body holds a few settings; anything longer is not one.
const BODY_BYTES_MAX = 16_384;

export class LauncherUnreachableError extends Error {}

// Starts the endpoint; refuses when another launcher answers on the socket, removes a stale one.
export async function serveLauncherEndpoint(socketPath: string, control: LauncherControl): Promise<http.Server> {
  if (existsSync(socketPath)) {
    const other = await callLauncher(socketPath, 'GET', '/services').catch(() => null);
    if (other) throw new Error(`another launcher is already running (it answers on ${socketPath})`);
    unlinkSync(socketPath);
  }
  const server = http.createServer((request, response) => {
    let text = '';
    let tooLong = false;
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => {
      text += chunk;
      tooLong ||= text.length > BODY_BYTES_MAX;
      if (tooLong) text = '';
    });
    request.on('end', () => {
      const body = tooLong ? { status: 413, body: { error: 'too_large', message: `a request body is at most ${BODY_BYTES_MAX} bytes` } } : null;
      (body ? Promise.resolve(body) : route(control, request.method ?? 'GET', request.url ?? '/', text)).then(
        (reply) => send(response, reply),
        (err: unknown) => send(response, { status: 500, body: { error: 'internal', message: String(err) } }),
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  return server;
}

async function route(control: LauncherControl, method: string, url: string, text: string): Promise<LauncherReply> {
  if (method === 'GET' && url === '/services') {
    const services = control.ids().map((id) => ({ id, running: control.isRunning(id), pid: control.pid(id) }));
    return { status: 200, body: { services } };
  }
  const match = /^\/services\/([^/]+)\/([^/]+)$/.exec(url);
  if (method !== 'POST' || !match) {
    return { status: 404, body: { error: 'not_found', message: `no route ${method} ${url}` } };
  }
  const id = decodeURIComponent(match[1] ?? '');
  const action = match[2] ?? '';
  if (!(launcherActions as readonly string[]).includes(action)) {
    return { status: 400, body: { error: 'bad_action', message: `unknown action ${JSON.stringify(action)}; use ${launcherActions.join(', ')}` } };
  }
  if (!control.ids().includes(id)) {
    const message = `unknown service ${JSON.stringify(id)}; valid ids are ${control.ids().join(', ')}`;
    return { status: 404, body: { error: 'unknown_service', message } };
  }
  const wasRunning = control.isRunning(id);
  const refused = action === 'start' ? startSettings(control, id, text) : null;
  if (refused) return refused;
  await control.act(action as LauncherAction, id);
  const message = describeOutcome(action as LauncherAction, id, wasRunning, control.pid(id)) + (action === 'start' ? describeSettings(control.settings(id)) : '');
  return { status: 200, body: { id, action, pid: control.pid(id), settings: control.settings(id), message } };
}

// Applies the settings a start asks for to the service; or the answer that refuses them.
function startSettings(control: LauncherControl, id: string, text: string): LauncherReply | null {
  let env: unknown = {};
  try {
    env = text.trim() === '' ? {} : ((JSON.parse(text) as { env?: unknown }).env ?? {});
  } catch {
    return { status: 400, body: { error: 'bad_request', message: 'the body must be JSON: {"env":{"NAME":"value"}}' } };
  }
  const settable = control.settable(id);
  const entries = typeof env === 'object' && env !== null && !Array.isArray(env) ? Object.entries(env) : null;
  const bad = entries === null ? ['env'] : entries.filter(([name, value]) => !settable.includes(name) || typeof value !== 'string').map(([name]) => name);
  if (entries === null || bad.length > 0) {
    const valid = settable.length > 0 ? `; ${id} takes ${settable.join(', ')} (strings)` : `; ${id} takes none`;
    return { status: 400, body: { error: 'bad_env', message: `settings not taken from the shell: ${bad.join(', ')}${valid}` } };
  }
  const asked = Object.fromEntries(entries) as Record<string, string>;
  const current = control.settings(id);
  const differs = Object.entries(asked).some(([name, value]) => (current[name] ?? '') !== value);
  if (differs && control.isRunning(id)) {
    const message = `${id} runs with other settings (${describeSettings(current).replace(/^ with /, '') || 'the defaults'}); stop it first: npm run node -- stop ${id}`;
    return { status: 409, body: { error: 'service_running', message } };
  }
  control.configure(id, asked);
  return null;
}

function describeSettings(settings: Record<string, string>): string {
  const set = Object.entries(settings).map(([name, value]) => `${name}=${JSON.stringify(value)}`);
  return set.length > 0 ? ` with ${set.join(' ')}` : '';
}

function describeOutcome(action: LauncherAction, id: string, wasRunning: boolean, pid: number | null): string {
  if (action === 'start') return wasRunning ? `${id} was already running (pid ${pid})` : `started ${id} (pid ${pid})`;
  if (!wasRunning) return `${id} was not running`;
  return action === 'kill' ? `killed ${id} (SIGKILL); it stays down until start` : `stopped ${id} (SIGTERM); it stays down until start`;
}

function send(response: http.ServerResponse, reply: LauncherReply): void {
  response.writeHead(reply.status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(reply.body));
}

// One request to the launcher. A missing or dead socket becomes LauncherUnreachableError.
export function callLauncher(socketPath: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<LauncherReply> {
  return new Promise((resolve, reject) => {
    const headers = body === undefined ? {} : { 'content-type': 'application/json' };
    const request = http.request({ socketPath, method, path, headers, timeout: CALL_TIMEOUT_MS }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => {
        try {
          resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> });
        } catch {
          reject(new Error(`the launcher answered something that is not JSON: ${text.slice(0, 200)}`));
        }
      });
    });
    request.on('timeout', () => request.destroy(new Error(`the launcher did not answer within ${CALL_TIMEOUT_MS / 1000} s`)));
    request.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
        reject(new LauncherUnreachableError(`no launcher is running (nothing answers on ${socketPath}); start the cluster with npm start`));
      } else {
        reject(err);
      }
    });
    request.end(body === undefined ? undefined : JSON.stringify(body));
  });
}
