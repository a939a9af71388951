// The default cluster: the one source of truth for the local launcher, the compose file check and
// the tests. Each data node runs the same code; `role` is only the role it starts in.

export type NodeRole = 'primary' | 'mirror' | 'replica';
export type CopyMode = 'sync' | 'async';

export interface ServiceSpec {
  id: string;
  kind: 'control' | 'node';
  port: number;
  role?: NodeRole;
  region?: string;
  // A node that joins a running cluster: started only on request (`npm run node -- start
  // replica-3`, compose's `extra` profile), and left out of the others' PEERS — it registers
  // itself with control, which tells the other nodes its URL (membership).
  extra?: boolean;
  // Settings a person may give this node from the shell when starting it, as compose interpolates
  // them: service variable -> shell variable (`REPLICA_3_FILTER=user/ npm run node -- start
  // replica-3`, like `REPLICA_3_FILTER=user/ docker compose --profile extra up -d replica-3`).
  shellEnv?: Readonly<Record<string, string>>;
}

export const CONTROL_ID = 'control';

export const defaultTopology: readonly ServiceSpec[] = [
  { id: 'control', kind: 'control', port: 7000 },
  { id: 'primary', kind: 'node', role: 'primary', port: 7001 },
  { id: 'mirror', kind: 'node', role: 'mirror', port: 7002 },
  { id: 'replica-1', kind: 'node', role: 'replica', port: 7003, region: 'eu' },
  { id: 'replica-2', kind: 'node', role: 'replica', port: 7004, region: 'us' },
];

// The nodes that join later; `launcherTopology` is what the local launcher can run.
export const extraServices: readonly ServiceSpec[] = [
  { id: 'replica-3', kind: 'node', role: 'replica', port: 7005, region: 'ap', extra: true, shellEnv: { REPLICA_FILTER: 'REPLICA_3_FILTER' } },
];
export const launcherTopology: readonly ServiceSpec[] = [...defaultTopology, ...extraServices];

export const DEFAULT_CLUSTER_SECRET = 'mirrorlab-dev-secret';

export interface ClusterPlan {
  host: string;
  // Port per service id; defaults to the topology's ports.
  ports: Record<string, number>;
  // Base URL per service id as other processes reach it.
  urls: Record<string, string>;
  dataRoot: string;
  secret: string;
}

export function planCluster(options: {
  host?: string;
  ports?: Record<string, number>;
  dataRoot: string;
  secret?: string;
  topology?: readonly ServiceSpec[];
}): ClusterPlan {
  const host = options.host ?? '127.0.0.1';
  const topology = options.topology ?? defaultTopology;
  const ports: Record<string, number> = {};
  const urls: Record<string, string> = {};
  for (const service of topology) {
    const port = options.ports?.[service.id] ?? service.port;
    ports[service.id] = port;
    urls[service.id] = `http://${host}:${port}`;
  }
  return { host, ports, urls, dataRoot: options.dataRoot, secret: options.secret ?? DEFAULT_CLUSTER_SECRET };
}

// PEERS lists every data node as id=url, comma-separated.
export function peersValue(plan: ClusterPlan, topology: readonly ServiceSpec[] = defaultTopology): string {
  return topology
    .filter((s) => s.kind === 'node')
    .map((s) => `${s.id}=${plan.urls[s.id]}`)
    .join(',');
}

// The environment one service is started with; the launcher, the tests and the compose check use it.
export function serviceEnv(
  service: ServiceSpec,
  plan: ClusterPlan,
  topology: readonly ServiceSpec[] = defaultTopology,
): Record<string, string> {
  const env: Record<string, string> = {
    NODE_ID: service.id,
    PORT: String(plan.ports[service.id]),
    HOST: plan.host,
    // An extra node is in no one's PEERS but its own: the others learn of it through control.
    PEERS: peersValue(plan, topology.filter((s) => !s.extra || s.id === service.id)),
    CONTROL_URL: plan.urls[CONTROL_ID] ?? '',
    CLUSTER_SECRET: plan.secret,
    DATA_DIR: `${plan.dataRoot}/${service.id}`,
  };
  if (service.kind === 'node') {
    env.ROLE = service.role ?? 'replica';
    if (service.region) env.REGION = service.region;
  }
  return env;
}

// The command that starts a service; the same one the container image runs.
export function serviceCommand(service: ServiceSpec): string[] {
  const entry = service.kind === 'control' ? 'services/control/src/main.ts' : 'services/node/src/main.ts';
  return ['node', '--import', 'tsx', entry];
}
