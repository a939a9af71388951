// The local launcher's settings, read from the environment by `npm start` and `npm run node` alike,
// so both find the same data root and the same control socket. Every problem is listed at once.
//
//   DATA_ROOT   where each service keeps `<DATA_ROOT>/<id>/` (default `.data`, relative paths are
//               taken from the repository root); the launcher's socket is `<DATA_ROOT>/launcher.sock`
//   PORT_BASE   control's port; the data nodes follow at +1..+4 and replica-3, started only on
//               request, at +5 (default 7000, i.e. ports 7000–7005)
//   CLUSTER_SECRET  the internal-route secret handed to every service (default: the dev secret)

import path from 'node:path';
import { DEFAULT_CLUSTER_SECRET, launcherTopology, planCluster, type ClusterPlan } from '../../shared/topology.ts';
import { REPO_ROOT } from './cluster-processes.ts';

export interface LauncherSettings {
  dataRoot: string;
  portBase: number;
  secret: string;
  socketPath: string;
}

type Env = Record<string, string | undefined>;

const DEFAULT_PORT_BASE = 7000;
// A unix socket path is limited to about 107 bytes on Linux (sun_path).
const SOCKET_PATH_BYTES_MAX = 100;

export function readLauncherSettings(env: Env): { ok: true; settings: LauncherSettings } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const dataRoot = path.resolve(REPO_ROOT, env.DATA_ROOT || '.data');
  const socketPath = path.join(dataRoot, 'launcher.sock');
  if (Buffer.byteLength(socketPath) > SOCKET_PATH_BYTES_MAX) {
    problems.push(`DATA_ROOT is too deep for a unix socket (${socketPath}); choose a shorter path`);
  }
  let portBase = DEFAULT_PORT_BASE;
  const rawBase = env.PORT_BASE;
  if (rawBase !== undefined && rawBase !== '') {
    const span = topologyPortSpan();
    portBase = Number(rawBase);
    if (!/^\d+$/.test(rawBase) || portBase < 1024 || portBase + span > 65_535) {
      problems.push(`PORT_BASE=${JSON.stringify(rawBase)} must be a whole number from 1024 to ${65_535 - span}`);
      portBase = DEFAULT_PORT_BASE;
    }
  }
  const secret = env.CLUSTER_SECRET ?? DEFAULT_CLUSTER_SECRET;
  if (secret === '') problems.push('CLUSTER_SECRET is set but empty: unset it for the default or give a secret');
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, settings: { dataRoot, portBase, secret, socketPath } };
}

// The launcher's topology (with replica-3) shifted to PORT_BASE, on the loopback interface.
export function launcherPlan(settings: LauncherSettings): ClusterPlan {
  const ports: Record<string, number> = {};
  for (const service of launcherTopology) ports[service.id] = settings.portBase + (service.port - DEFAULT_PORT_BASE);
  return planCluster({ host: '127.0.0.1', ports, dataRoot: settings.dataRoot, secret: settings.secret, topology: launcherTopology });
}

function topologyPortSpan(): number {
  return Math.max(...launcherTopology.map((s) => s.port)) - DEFAULT_PORT_BASE;
}
