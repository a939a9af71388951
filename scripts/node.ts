// `npm run node -- kill|stop|start <id>`: what `docker compose kill|stop|start <id>` does, for the
// cluster `npm start` runs. It asks the running launcher over its socket, so the launcher stays the
// parent of every service and keeps prefixing their logs.
//   kill   SIGKILL, no goodbye; the service stays down until start
//   stop   SIGTERM, SIGKILL after 10 s; the service stays down until start
//   start  starts a service that is down
// Uses the same DATA_ROOT as `npm start` to find the socket.

import { callLauncher, launcherActions, LauncherUnreachableError, type LauncherAction } from './lib/launcher-endpoint.ts';
import { readLauncherSettings } from './lib/launcher-settings.ts';

const USAGE = `usage: npm run node -- ${launcherActions.join('|')} <id>`;

function fail(message: string): never {
  process.stderr.write(`npm run node: ${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  const [action, id, ...extra] = process.argv.slice(2);
  if (!action || !id || extra.length > 0) fail(USAGE);
  if (!(launcherActions as readonly string[]).includes(action)) fail(`unknown action ${JSON.stringify(action)}; ${USAGE}`);
  const settings = readLauncherSettings(process.env);
  if (!settings.ok) fail(settings.problems.join('; '));

  try {
    const reply = await callLauncher(settings.settings.socketPath, 'POST', `/services/${encodeURIComponent(id)}/${action as LauncherAction}`);
    const message = typeof reply.body.message === 'string' ? reply.body.message : JSON.stringify(reply.body);
    if (reply.status !== 200) fail(message);
    process.stdout.write(`${message}\n`);
  } catch (err) {
    fail(err instanceof LauncherUnreachableError ? err.message : `the launcher failed: ${(err as Error).message}`);
  }
}

void main();
