// Goal: `docker compose up` starts the very cluster `npm start` starts. docker-compose.yml and the
// Dockerfile are held to shared/topology.ts, the launcher's source of truth: the same services,
// ports, roles and regions, each container running serviceCommand(spec) from the repository root
// with serviceEnv(spec, plan) (compose host names instead of 127.0.0.1), every documented setting
// spelled out with a value that changes nothing, and the volumes, healthchecks, restart policy and
// start order a workshop relies on. `npm run lint:compose` checks the file against the compose
// schema; this file checks what the schema cannot know.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../scripts/lib/cluster-processes.ts';
import { parseConfig } from '../../services/control/src/config.ts';
import { loadNodeConfig } from '../../services/node/src/config.ts';
import {
  DEFAULT_CLUSTER_SECRET,
  defaultTopology,
  extraServices,
  launcherTopology,
  serviceCommand,
  serviceEnv,
  type ClusterPlan,
  type ServiceSpec,
} from '../../shared/topology.ts';

interface ComposeService {
  image?: string;
  build?: unknown;
  pull_policy?: string;
  profiles?: string[];
  command?: unknown;
  entrypoint?: unknown;
  working_dir?: string;
  environment?: Record<string, string | number | boolean | null>;
  ports?: unknown[];
  volumes?: unknown[];
  networks?: unknown;
  depends_on?: Record<string, { condition?: string }>;
  healthcheck?: { test?: unknown; disable?: boolean };
  deploy?: {
    replicas?: number;
    endpoint_mode?: string;
    placement?: { constraints?: string[] };
    restart_policy?: { condition?: string; delay?: string };
    update_config?: { order?: string };
  };
  restart?: string;
  init?: boolean;
  user?: string;
}

interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
  networks?: Record<string, unknown>;
}

const read = (file: string): string => readFileSync(path.join(REPO_ROOT, file), 'utf8');
const compose = parse(read('docker-compose.yml'), { merge: true }) as ComposeFile;

// The service that joins at run time (`docker compose --profile extra up replica-3`, locally
// `npm run node -- start replica-3`): the topology's extra node.
const EXTRA_PROFILE = 'extra';
const extraReplica = extraServices[0] as ServiceSpec;
const extraTopology: readonly ServiceSpec[] = launcherTopology;

// Compose's plan: containers listen on every interface, reach each other by service name, keep
// their data under /data (the volume), and publish the topology's ports unchanged.
function composePlan(topology: readonly ServiceSpec[]): ClusterPlan {
  return {
    host: '0.0.0.0',
    ports: Object.fromEntries(topology.map((s) => [s.id, s.port])),
    urls: Object.fromEntries(topology.map((s) => [s.id, `http://${s.id}:${s.port}`])),
    dataRoot: '/data',
    secret: DEFAULT_CLUSTER_SECRET,
  };
}

// How a client on the host reaches the data nodes (the Location of a 307).
function publicPeers(topology: readonly ServiceSpec[]): string {
  return topology.filter((s) => s.kind === 'node').map((s) => `${s.id}=http://127.0.0.1:${s.port}`).join(',');
}

// Compose interpolation as `docker compose up` does it with none of the variables set: every
// ${NAME:-default} must carry its default, so the file alone says what runs.
function interpolate(value: string): string {
  return value.replace(/\$\$|\$\{([A-Z0-9_]+)(:?-)([^}]*)\}|\$/g, (match, name: string | undefined, _op, fallback: string | undefined) => {
    if (match === '$$') return '$';
    if (name === undefined) throw new Error(`"${value}": every variable needs a default, as \${NAME:-default}`);
    return fallback ?? '';
  });
}

function environmentOf(id: string, file: ComposeFile = compose): Record<string, string> {
  const environment = service(id, file).environment;
  if (!environment || Array.isArray(environment)) throw new Error(`${id}: environment must be a map`);
  return Object.fromEntries(
    Object.entries(environment).map(([name, value]) => {
      if (value === null) throw new Error(`${id}: ${name} has no value (compose would take it from the shell)`);
      return [name, interpolate(String(value))];
    }),
  );
}

function service(id: string, file: ComposeFile = compose): ComposeService {
  const found = file.services[id];
  if (!found) throw new Error(`${file === compose ? 'docker-compose.yml' : 'the stack file'} has no service ${id}`);
  return found;
}

// The variables named in the first column of a markdown table under `heading` (`HOST` / `PORT`
// names two).
function documentedVariables(file: string, heading: string): string[] {
  const text = read(file);
  const start = text.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`${file} has no "${heading}" section`);
  const rest = text.slice(start + heading.length + 2);
  const next = rest.search(/\n#{1,3} /);
  const section = next < 0 ? rest : rest.slice(0, next);
  const names = new Set<string>();
  for (const line of section.split('\n')) {
    const firstCell = /^\|([^|]*)\|/.exec(line)?.[1] ?? '';
    for (const match of firstCell.matchAll(/`([A-Z][A-Z0-9_]*)`/g)) names.add(match[1] as string);
  }
  return [...names];
}

interface DockerInstruction {
  keyword: string;
  args: string;
}

// The Dockerfile's instructions of its last stage (the image that runs), continuation lines joined.
function finalStage(): { from: string[]; instructions: DockerInstruction[] } {
  const lines = read('Dockerfile').replace(/\\\n/g, ' ').split('\n');
  const all = lines
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const space = line.search(/\s/);
      return { keyword: line.slice(0, space).toUpperCase(), args: line.slice(space + 1).trim() };
    });
  const from = all.filter((i) => i.keyword === 'FROM').map((i) => i.args);
  const lastFrom = all.map((i) => i.keyword).lastIndexOf('FROM');
  return { from, instructions: all.slice(lastFrom) };
}

const nodeSpecs = defaultTopology.filter((s) => s.kind === 'node');
const controlSpec = defaultTopology.find((s) => s.kind === 'control') as ServiceSpec;

describe('docker-compose.yml against the launcher topology', () => {
  it('has exactly the topology services, plus replica-3 under the "extra" profile', () => {
    expect(Object.keys(compose.services).sort()).toEqual([...extraTopology.map((s) => s.id)].sort());
    for (const spec of defaultTopology) expect(service(spec.id).profiles, spec.id).toBeUndefined();
    expect(service(extraReplica.id).profiles).toEqual([EXTRA_PROFILE]);
  });

  it('runs each service with the launcher command, from the image WORKDIR', () => {
    for (const spec of extraTopology) {
      expect(service(spec.id).command, spec.id).toEqual(serviceCommand(spec));
      expect(service(spec.id).entrypoint, spec.id).toBeUndefined();
      expect(service(spec.id).working_dir, spec.id).toBeUndefined();
    }
  });

  it('gives each service the launcher environment, with compose host names', () => {
    for (const spec of defaultTopology) {
      const expected = serviceEnv(spec, composePlan(defaultTopology));
      expect(environmentOf(spec.id), spec.id).toMatchObject(expected);
    }
    for (const spec of nodeSpecs) expect(environmentOf(spec.id).PUBLIC_PEERS, spec.id).toBe(publicPeers(defaultTopology));
  });

  it('starts replica-3 like any replica of a topology that includes it', () => {
    const env = environmentOf(extraReplica.id);
    expect(env).toMatchObject(serviceEnv(extraReplica, composePlan(extraTopology), extraTopology));
    expect(env.PUBLIC_PEERS).toBe(publicPeers(extraTopology));
    expect(env.REGION).toBe('ap');
    expect(env.REPLICA_FILTER).toBe('');
  });

  it("takes from the shell exactly the settings `npm run node -- start` passes on (ServiceSpec.shellEnv)", () => {
    for (const spec of launcherTopology) {
      const raw = service(spec.id).environment ?? {};
      // The variables compose fills in from the shell for this service alone (REPLICA_FILTER from
      // REPLICA_3_FILTER), by the service variable they set; cluster-wide ones keep their name
      // (FSYNC from FSYNC) and are the launcher's own environment.
      const fromShell = Object.fromEntries(
        Object.entries(raw).flatMap(([name, value]) => {
          const match = /^\$\{([A-Z0-9_]+):-[^}]*\}$/.exec(String(value));
          return match && match[1] !== name ? [[name, match[1]]] : [];
        }),
      );
      expect(fromShell, spec.id).toEqual(spec.shellEnv ?? {});
    }
  });

  it('spells out every setting of the configuration table (docs/configuration.md) on every data node', () => {
    const variables = documentedVariables('docs/configuration.md', '## Configuration');
    expect(variables.length).toBeGreaterThan(15);
    for (const spec of [...nodeSpecs, extraReplica]) {
      const missing = variables.filter((name) => !(name in environmentOf(spec.id)));
      expect(missing, `${spec.id} lacks`).toEqual([]);
    }
  });

  it("spells out every setting of control's configuration table on control", () => {
    const variables = documentedVariables('services/control/DESIGN.md', '## Configuration');
    expect(variables.length).toBeGreaterThan(5);
    const missing = variables.filter((name) => !(name in environmentOf(controlSpec.id)));
    expect(missing).toEqual([]);
  });

  it('sets every setting to its default: the compose cluster is configured like the local one', () => {
    for (const spec of [...nodeSpecs, extraReplica]) {
      const topology = spec === extraReplica ? extraTopology : defaultTopology;
      const minimal = { ...serviceEnv(spec, composePlan(topology), topology), PUBLIC_PEERS: publicPeers(topology) };
      expect(loadNodeConfig(environmentOf(spec.id)), spec.id).toEqual(loadNodeConfig(minimal));
    }
    const control = parseConfig(environmentOf(controlSpec.id));
    // The one deliberate difference: reset's todo list names compose's command to start a node.
    expect(control).toEqual(parseConfig({ ...serviceEnv(controlSpec, composePlan(defaultTopology)), NODE_CMD: 'docker compose' }));
    expect(control.ok).toBe(true);
  });

  it('publishes each port unchanged on the loopback interface of the host', () => {
    for (const spec of extraTopology) {
      expect(service(spec.id).ports, spec.id).toEqual([`127.0.0.1:${spec.port}:${spec.port}`]);
      expect(environmentOf(spec.id).PORT, spec.id).toBe(String(spec.port));
    }
  });

  it('keeps each service on its own named volume, mounted at /data', () => {
    for (const spec of extraTopology) {
      const volume = `${spec.id}-data`;
      expect(service(spec.id).volumes, spec.id).toEqual([`${volume}:/data`]);
      expect(compose.volumes, spec.id).toHaveProperty([volume]);
      expect(environmentOf(spec.id).DATA_DIR, spec.id).toBe(`/data/${spec.id}`);
    }
    expect(Object.keys(compose.volumes ?? {}).sort()).toEqual(extraTopology.map((s) => `${s.id}-data`).sort());
  });

  it('runs one image with init, restart on-failure and one network for every service', () => {
    const networks = Object.keys(compose.networks ?? {});
    expect(networks).toHaveLength(1);
    for (const spec of extraTopology) {
      const s = service(spec.id);
      expect(interpolate(s.image ?? ''), spec.id).toBe('mirrorlab:local');
      expect(s.init, spec.id).toBe(true);
      // on-failure: a node that SIGKILLs itself (control's crash fault) comes back; one killed or
      // stopped through docker compose stays down until `docker compose start`.
      expect(s.restart, spec.id).toBe('on-failure');
      expect(s.networks, spec.id).toEqual(networks);
      expect(s.user, spec.id).toBeUndefined();
    }
  });

  // Compose labels a built image with the service that built it: two services building one tag
  // give it a different image id per build, and `up -d` recreates running containers (issue 12).
  // Control builds it; a data node never builds nor pulls, and every `up` of a data node includes
  // control (its dependency, see the start-order test), so the image is always built first.
  it('builds the image once, in control, and never pulls it', () => {
    const builders = extraTopology.filter((spec) => service(spec.id).build !== undefined).map((spec) => spec.id);
    expect(builders).toEqual([controlSpec.id]);
    expect(service(controlSpec.id).build).toBe('.');
    expect(service(controlSpec.id).pull_policy).toBe('build');
    for (const spec of [...nodeSpecs, extraReplica]) expect(service(spec.id).pull_policy, spec.id).toBe('never');
  });

  it("checks health with node's fetch on the service's own PORT", () => {
    for (const spec of extraTopology) {
      const test = service(spec.id).healthcheck?.test;
      expect(Array.isArray(test), spec.id).toBe(true);
      const [kind, command, flag, script] = test as string[];
      expect([kind, command, flag], spec.id).toEqual(['CMD', 'node', '-e']);
      expect(script).toContain("fetch('http://127.0.0.1:' + process.env.PORT + '/health'");
      expect(script).not.toContain('$');
    }
  });

  it('starts control first, then every data node, with no node waiting for another', () => {
    expect(service(controlSpec.id).depends_on).toBeUndefined();
    for (const spec of [...nodeSpecs, extraReplica]) {
      expect(service(spec.id).depends_on, spec.id).toEqual({ [controlSpec.id]: { condition: 'service_healthy' } });
    }
  });
});

describe('Dockerfile against the launcher command', () => {
  const { from, instructions } = finalStage();
  const args = (keyword: string) => instructions.filter((i) => i.keyword === keyword).map((i) => i.args);

  it('builds every stage on node:24-slim', () => {
    expect(from.length).toBeGreaterThanOrEqual(2);
    for (const line of from) expect(line.split(/\s+/)[0]).toBe('node:24-slim');
  });

  it("runs a data node by default with the launcher's command, from the repository copy", () => {
    const cmd = args('CMD');
    expect(cmd).toHaveLength(1);
    const nodeSpec = nodeSpecs[0] as ServiceSpec;
    expect(JSON.parse(cmd[0] as string)).toEqual(serviceCommand(nodeSpec));
    expect(args('ENTRYPOINT')).toEqual([]);
    expect(args('WORKDIR').at(-1)).toBe('/app');
  });

  it('copies what the commands run, and runs as the unprivileged user', () => {
    const copied = args('COPY').flatMap((line) => line.split(/\s+/).filter((word) => !word.startsWith('--')).slice(0, -1));
    for (const spec of defaultTopology) {
      const entry = serviceCommand(spec).at(-1) as string;
      expect(copied, entry).toContain(entry.split('/')[0]);
      expect(() => readFileSync(path.join(REPO_ROOT, entry)), entry).not.toThrow();
    }
    for (const file of ['shared', 'package.json', 'package-lock.json']) expect(copied).toContain(file);
    expect(args('USER').at(-1)).toBe('node');
  });

  it('keeps local state out of the build context', () => {
    const ignored = read('.dockerignore').split('\n').map((line) => line.trim());
    for (const entry of ['node_modules', '.data', '.chaos', 'bench/results', '.git']) expect(ignored).toContain(entry);
  });
});

// Goal of this part: `docker stack deploy -c deploy/swarm/stack.yml` runs the same cluster as
// compose, spread over hosts. Each service has compose's command, environment (with one
// difference: reset names the swarm's node command), healthcheck and volume; what is the swarm's
// own (placement by region label, restart on-failure, stop-first updates, the routing mesh, and
// replica-3 deployed with no task) is held here too.
describe('deploy/swarm/stack.yml against docker-compose.yml and the topology', () => {
  const stack = parse(read('deploy/swarm/stack.yml'), { merge: true }) as ComposeFile;
  const placement: Record<string, string> = { control: 'eu', primary: 'eu', mirror: 'eu', 'replica-1': 'eu', 'replica-2': 'us', 'replica-3': 'ap' };

  it("has compose's services, commands, healthchecks, init and volumes", () => {
    expect(Object.keys(stack.services).sort()).toEqual(Object.keys(compose.services).sort());
    for (const spec of extraTopology) {
      const s = service(spec.id, stack);
      expect(s.command, spec.id).toEqual(serviceCommand(spec));
      expect(interpolate(s.image ?? ''), spec.id).toBe('mirrorlab:local');
      expect(s.build, spec.id).toBeUndefined();
      expect(s.healthcheck, spec.id).toEqual(service(spec.id).healthcheck);
      expect(s.init, spec.id).toBe(true);
      expect(s.volumes, spec.id).toEqual(service(spec.id).volumes);
    }
    expect(Object.keys(stack.volumes ?? {}).sort()).toEqual(Object.keys(compose.volumes ?? {}).sort());
  });

  it("gives every service compose's environment; reset names deploy/swarm/node.sh", () => {
    for (const spec of extraTopology) {
      const expected = { ...environmentOf(spec.id), ...(spec.kind === 'control' ? { NODE_CMD: 'deploy/swarm/node.sh' } : {}) };
      expect(environmentOf(spec.id, stack), spec.id).toEqual(expected);
    }
    expect(parseConfig(environmentOf(controlSpec.id, stack)).ok).toBe(true);
  });

  // No routing mesh, no virtual IP: a request goes straight to the node's host (real latency),
  // and neither needs IPVS, which the test machine's kernel lacks.
  it('publishes each port on its task host, names resolve to tasks, one overlay network', () => {
    const networks = Object.entries(stack.networks ?? {});
    expect(networks).toHaveLength(1);
    expect(networks[0]?.[1]).toMatchObject({ driver: 'overlay' });
    for (const spec of extraTopology) {
      expect(service(spec.id, stack).ports, spec.id).toEqual([{ target: spec.port, published: spec.port, mode: 'host' }]);
      expect(service(spec.id, stack).deploy?.endpoint_mode, spec.id).toBe('dnsrr');
      expect(service(spec.id, stack).networks, spec.id).toEqual([networks[0]?.[0]]);
    }
  });

  it('places each service by the region label, restarts on failure, never runs two tasks of one node', () => {
    for (const spec of extraTopology) {
      const deploy = service(spec.id, stack).deploy ?? {};
      const variable = `PLACE_${spec.id.toUpperCase().replace(/-/g, '_')}`;
      expect(deploy.placement?.constraints, spec.id).toEqual([`node.labels.region == \${${variable}:-${placement[spec.id]}}`]);
      expect(deploy.replicas, spec.id).toBe(spec.extra ? 0 : 1);
      expect(deploy.restart_policy?.condition, spec.id).toBe('on-failure');
      expect(deploy.update_config?.order, spec.id).toBe('stop-first');
    }
    // A node's REGION (what it reports, and the WAN profile's default) is where it is placed.
    for (const spec of extraTopology.filter((s) => s.region)) expect(environmentOf(spec.id, stack).REGION).toBe(placement[spec.id]);
  });
});
