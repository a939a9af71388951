// Goal: `kubectl apply -k deploy/kubernetes/overlays/<participant>` would create the very cluster
// `npm start` and compose run, though no Kubernetes cluster runs here. Every overlay (and the
// base) is rendered as kustomize renders it (tests/helpers/kustomize.ts) and every object is
// validated against the Kubernetes API schemas (kubernetes-models: types, required fields,
// formats). Then what the schemas cannot know: one StatefulSet and one Service per node identity
// of shared/topology.ts with its port, the launcher's command, the launcher's environment with
// Service names as host names (ConfigMaps and the Secret resolved as the kubelet resolves them),
// every documented setting at its default, probes on /health that outlast a pause fault, a
// claimed volume at /data, and each participant's cluster in its own namespace with its own secret.

import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { REPO_ROOT } from '../../scripts/lib/cluster-processes.ts';
import { parseConfig } from '../../services/control/src/config.ts';
import { loadNodeConfig } from '../../services/node/src/config.ts';
import { limits } from '../../shared/limits.ts';
import { DEFAULT_CLUSTER_SECRET, defaultTopology, launcherTopology, serviceCommand, serviceEnv, type ClusterPlan, type ServiceSpec } from '../../shared/topology.ts';
import { renderKustomization, type K8sObject } from '../helpers/kustomize.ts';

const KUBE_DIR = path.join(REPO_ROOT, 'deploy', 'kubernetes');
const overlays = readdirSync(path.join(KUBE_DIR, 'overlays')).sort();

// The model that validates each kind the manifests may use; any other kind fails the test.
const MODELS: Record<string, { validate: (object: any) => void }> = {
  'v1/ConfigMap': { validate: (o) => new ConfigMap(o).validate() },
  'v1/Namespace': { validate: (o) => new Namespace(o).validate() },
  'v1/Secret': { validate: (o) => new Secret(o).validate() },
  'v1/Service': { validate: (o) => new Service(o).validate() },
  'apps/v1/StatefulSet': { validate: (o) => new StatefulSet(o).validate() },
};

function find(objects: K8sObject[], kind: string, name: string): any {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  if (found.length !== 1) throw new Error(`${found.length} ${kind} named ${name}`);
  return found[0];
}

// The environment the kubelet gives the container: envFrom in order, then env, which wins.
function containerEnv(objects: K8sObject[], container: any): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef) Object.assign(env, find(objects, 'ConfigMap', from.configMapRef.name).data);
    else if (from.secretRef) {
      const secret = find(objects, 'Secret', from.secretRef.name);
      const decoded = Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(String(v), 'base64').toString()]));
      Object.assign(env, decoded, secret.stringData ?? {});
    } else throw new Error(`unsupported envFrom ${JSON.stringify(from)}`);
  }
  for (const e of container.env ?? []) {
    if (typeof e.value !== 'string') throw new Error(`${e.name}: only literal values are supported`);
    env[e.name] = e.value;
  }
  return env;
}

// Kubernetes' plan: every process listens on all interfaces and reaches the others by their
// Service names, data under the claimed volume at /data.
function kubePlan(topology: readonly ServiceSpec[], secret: string): ClusterPlan {
  return {
    host: '0.0.0.0',
    ports: Object.fromEntries(topology.map((s) => [s.id, s.port])),
    urls: Object.fromEntries(topology.map((s) => [s.id, `http://${s.id}:${s.port}`])),
    dataRoot: '/data',
    secret,
  };
}

const publicPeers = (topology: readonly ServiceSpec[]) => topology.filter((s) => s.kind === 'node').map((s) => `${s.id}=http://127.0.0.1:${s.port}`).join(',');

function podOf(objects: K8sObject[], id: string): { set: any; container: any; env: Record<string, string> } {
  const set = find(objects, 'StatefulSet', id);
  const containers = set.spec.template.spec.containers;
  expect(containers, id).toHaveLength(1);
  return { set, container: containers[0], env: containerEnv(objects, containers[0]) };
}

describe.each(['base', ...overlays.map((o) => `overlays/${o}`)])('deploy/kubernetes/%s', (dir) => {
  const objects = renderKustomization(path.join(KUBE_DIR, dir));
  const secret = containerEnv(objects, { envFrom: [{ secretRef: { name: 'mirrorlab-secret' } }] }).CLUSTER_SECRET as string;

  it('renders objects that are all valid against the Kubernetes schemas', () => {
    expect(objects.length).toBeGreaterThan(launcherTopology.length * 2);
    for (const object of objects) {
      const model = MODELS[`${object.apiVersion}/${object.kind}`];
      expect(model, `${object.apiVersion} ${object.kind} has no model here`).toBeDefined();
      expect(() => model?.validate(object), `${object.kind} ${object.metadata.name}`).not.toThrow();
    }
  });

  it('runs one StatefulSet and one Service per node identity, with its port and the launcher command', () => {
    expect(objects.filter((o) => o.kind === 'StatefulSet').map((o) => o.metadata.name).sort()).toEqual(launcherTopology.map((s) => s.id).sort());
    for (const spec of launcherTopology) {
      const { set, container } = podOf(objects, spec.id);
      const service = find(objects, 'Service', spec.id);
      expect(set.spec.replicas, spec.id).toBe(spec.extra ? 0 : 1);
      expect(set.spec.serviceName, spec.id).toBe(spec.id);
      expect(service.spec.ports, spec.id).toEqual([{ name: 'http', port: spec.port, targetPort: 'http' }]);
      expect(container.ports, spec.id).toEqual([{ name: 'http', containerPort: spec.port }]);
      expect(container.command, spec.id).toEqual(serviceCommand(spec));
      expect(container.image, spec.id).toBe('mirrorlab:local');
      // The Service selects this pod and no other identity's.
      expect(set.spec.template.metadata.labels, spec.id).toMatchObject(service.spec.selector);
      expect(set.spec.selector.matchLabels, spec.id).toEqual(service.spec.selector);
      const others = launcherTopology.filter((s) => s.id !== spec.id).map((s) => find(objects, 'StatefulSet', s.id).spec.template.metadata.labels);
      for (const labels of others) expect(labels, spec.id).not.toMatchObject(service.spec.selector);
    }
  });

  it('gives each container the launcher environment, with Service names as hosts', () => {
    for (const spec of defaultTopology) {
      const { env } = podOf(objects, spec.id);
      expect(env, spec.id).toMatchObject(serviceEnv(spec, kubePlan(defaultTopology, secret)));
      if (spec.kind === 'node') expect(env.PUBLIC_PEERS, spec.id).toBe(publicPeers(defaultTopology));
    }
    const extra = launcherTopology.find((s) => s.extra) as ServiceSpec;
    const { env } = podOf(objects, extra.id);
    expect(env).toMatchObject(serviceEnv(extra, kubePlan(launcherTopology, secret), launcherTopology));
    expect(env.PUBLIC_PEERS).toBe(publicPeers(launcherTopology));
  });

  it('sets every setting to its default, like compose and the local launcher', () => {
    for (const spec of launcherTopology.filter((s) => s.kind === 'node')) {
      const topology = spec.extra ? launcherTopology : defaultTopology;
      const minimal = { ...serviceEnv(spec, kubePlan(topology, secret), topology), PUBLIC_PEERS: publicPeers(topology) };
      expect(loadNodeConfig(podOf(objects, spec.id).env), spec.id).toEqual(loadNodeConfig(minimal));
    }
    const control = defaultTopology.find((s) => s.kind === 'control') as ServiceSpec;
    const parsed = parseConfig(podOf(objects, control.id).env);
    expect(parsed).toEqual(parseConfig(serviceEnv(control, kubePlan(defaultTopology, secret))));
    expect(parsed.ok).toBe(true);
  });

  it('keeps the secret in the Secret only', () => {
    for (const map of objects.filter((o) => o.kind === 'ConfigMap')) expect(Object.keys(map.data), map.metadata.name).not.toContain('CLUSTER_SECRET');
    for (const spec of launcherTopology) expect(podOf(objects, spec.id).container.env.map((e: any) => e.name), spec.id).not.toContain('CLUSTER_SECRET');
    expect(secret.length).toBeGreaterThan(0);
  });

  it('probes /health, outlasting a pause fault, and keeps data on a claimed volume at /data', () => {
    for (const spec of launcherTopology) {
      const { set, container, env } = podOf(objects, spec.id);
      for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) expect(container[probe]?.httpGet, `${spec.id} ${probe}`).toEqual({ path: '/health', port: 'http' });
      const live = container.livenessProbe;
      // A paused node (POST /nodes/:id/pause, up to pauseMsMax) must come back by itself.
      expect(live.periodSeconds * live.failureThreshold * 1000, spec.id).toBeGreaterThan(limits.pauseMsMax);
      expect(container.volumeMounts, spec.id).toEqual([{ name: 'data', mountPath: '/data' }]);
      expect(set.spec.volumeClaimTemplates.map((t: any) => t.metadata.name), spec.id).toEqual(['data']);
      expect(env.DATA_DIR, spec.id).toBe(`/data/${spec.id}`);
      // The image's unprivileged user, and a volume it can write.
      expect(set.spec.template.spec.securityContext, spec.id).toMatchObject({ runAsUser: 1000, fsGroup: 1000, runAsNonRoot: true });
    }
  });
});

describe('participant overlays', () => {
  const rendered = overlays.map((o) => ({ overlay: o, objects: renderKustomization(path.join(KUBE_DIR, 'overlays', o)) }));

  it('put each participant in a namespace of its own, with a secret of its own', () => {
    expect(overlays.length).toBeGreaterThanOrEqual(2);
    const namespaces = new Set<string>();
    const secrets = new Set<string>();
    for (const { overlay, objects } of rendered) {
      const ns = objects.filter((o) => o.kind === 'Namespace');
      expect(ns, overlay).toHaveLength(1);
      const name = ns[0]?.metadata.name as string;
      for (const o of objects.filter((x) => x.kind !== 'Namespace')) expect(o.metadata.namespace, `${overlay} ${o.kind} ${o.metadata.name}`).toBe(name);
      namespaces.add(name);
      const secret = containerEnv(objects, { envFrom: [{ secretRef: { name: 'mirrorlab-secret' } }] }).CLUSTER_SECRET as string;
      expect(secret, overlay).not.toBe(DEFAULT_CLUSTER_SECRET);
      secrets.add(secret);
    }
    expect(namespaces.size).toBe(overlays.length);
    expect(secrets.size).toBe(overlays.length);
  });
});

describe('the renderer refuses what it cannot render faithfully', () => {
  it('fails on a kustomize field it does not implement', () => {
    expect(() => renderKustomization(path.join(REPO_ROOT, 'tests', 'fixtures', 'kustomize-unsupported'))).toThrow(/does not support: configMapGenerator/);
  });
});
