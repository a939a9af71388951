// `npm run node -- kill|stop|start <id>`: what `docker compose kill|stop|start <id>` does, for the
// cluster `npm start` runs. It asks the running launcher over its socket, so the launcher stays the
// parent of every service and keeps prefixing their logs.
//   kill   SIGKILL, no goodbye; the service stays down until start
//   stop   SIGTERM, SIGKILL after 10 s; the service stays down until start
//   start  starts a service that is down; the settings a service takes from the shell go along,
//          as compose interpolates them: `REPLICA_3_FILTER=user/ npm run node -- start replica-3`
//          (an empty value means none; unset keeps what the service last ran with)
// Uses the same DATA_ROOT as `npm start` to find the socket.

import { callLauncher, launcherActions, LauncherUnreachableError, type LauncherAction } from './lib/launcher-endpoint.ts';
import { readLauncherSettings } from './lib/launcher-settings.ts';
import { launcherTopology } from '../shared/topology.ts';

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
    const reply = await callLauncher(settings.settings.socketPath, 'POST', `/services/${encodeURIComponent(id)}/${action as LauncherAction}`, startBody(action, id));
    const message = typeof reply.body.message === 'string' ? reply.body.message : JSON.stringify(reply.body);
    if (reply.status !== 200) fail(message);
    process.stdout.write(`${message}\n`);
  } catch (err) {
    fail(err instanceof LauncherUnreachableError ? err.message : `the launcher failed: ${(err as Error).message}`);
  }
}

// The shell's settings for the service (ServiceSpec.shellEnv), as service variables.
function startBody(action: string, id: string): { env: Record<string, string> } | undefined {
  const shellEnv = launcherTopology.find((s) => s.id === id)?.shellEnv;
  if (action !== 'start' || !shellEnv) return undefined;
  const env: Record<string, string> = {};
  for (const [variable, shellVariable] of Object.entries(shellEnv)) {
    const value = process.env[shellVariable];
    if (value !== undefined) env[variable] = value;
  }
  return Object.keys(env).length > 0 ? { env } : undefined;
}

void main();
