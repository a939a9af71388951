// Renders a kustomization (deploy/kubernetes/) without kubectl, for the manifest test: exactly the
// kustomize features the manifests use, and an error for any other, so a manifest that relies on
// something this renderer does not do fails the test instead of being checked wrongly.
//   resources   files (one or more YAML documents) and directories holding a kustomization.yaml
//   namespace   set on every namespaced object
//   patches     `path:` strategic merge patches whose maps merge into the object of the same
//               apiVersion, kind and name (a list in a patch is refused: kustomize merges some
//               lists by key, which this renderer does not)
//   images      `name` with `newName` and/or `newTag`, on every container image of that name

import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: any;
}

const FIELDS = new Set(['apiVersion', 'kind', 'resources', 'namespace', 'patches', 'images']);
const CLUSTER_SCOPED = new Set(['Namespace', 'PersistentVolume', 'ClusterRole', 'ClusterRoleBinding', 'StorageClass']);

function readDocuments(file: string): K8sObject[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  return docs.map((doc, i) => {
    if (doc.errors.length > 0) throw new Error(`${file} document ${i + 1}: ${doc.errors[0]?.message}`);
    const object = doc.toJS() as K8sObject | null;
    if (!object || typeof object.kind !== 'string' || typeof object.metadata?.name !== 'string') throw new Error(`${file} document ${i + 1} is not a Kubernetes object`);
    return object;
  });
}

const idOf = (o: K8sObject) => `${o.apiVersion}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function mergePatch(target: Record<string, unknown>, patch: Record<string, unknown>, where: string): void {
  for (const [key, value] of Object.entries(patch)) {
    if (Array.isArray(value)) throw new Error(`${where}.${key}: a list in a patch is not supported by this renderer`);
    if (isMap(value) && isMap(target[key])) mergePatch(target[key] as Record<string, unknown>, value, `${where}.${key}`);
    else target[key] = value;
  }
}

function applyImages(object: K8sObject, images: Array<{ name: string; newName?: string; newTag?: string }>): void {
  const containers = [...(object.spec?.template?.spec?.containers ?? []), ...(object.spec?.template?.spec?.initContainers ?? [])];
  for (const container of containers) {
    const [name, tag] = String(container.image).split(':');
    const rule = images.find((i) => i.name === name);
    if (rule) container.image = `${rule.newName ?? name}${rule.newTag ?? tag ? `:${rule.newTag ?? tag}` : ''}`;
  }
}

export function renderKustomization(dir: string): K8sObject[] {
  const file = path.join(dir, 'kustomization.yaml');
  const k = parse(readFileSync(file, 'utf8')) as Record<string, any>;
  if (k?.kind !== 'Kustomization') throw new Error(`${file} is not a Kustomization`);
  const unknown = Object.keys(k).filter((key) => !FIELDS.has(key));
  if (unknown.length > 0) throw new Error(`${file}: fields this renderer does not support: ${unknown.join(', ')}`);
  const objects: K8sObject[] = [];
  for (const resource of (k.resources ?? []) as string[]) {
    const at = path.resolve(dir, resource);
    objects.push(...(statSync(at).isDirectory() ? renderKustomization(at) : readDocuments(at)));
  }
  for (const patch of (k.patches ?? []) as Array<Record<string, unknown>>) {
    if (Object.keys(patch).join() !== 'path') throw new Error(`${file}: only patches with a path are supported`);
    for (const p of readDocuments(path.resolve(dir, patch.path as string))) {
      const target = objects.find((o) => o.apiVersion === p.apiVersion && o.kind === p.kind && o.metadata.name === p.metadata.name);
      if (!target) throw new Error(`${file}: patch ${patch.path} targets ${p.kind} ${p.metadata.name}, which no resource defines`);
      mergePatch(target, p, `${p.kind}/${p.metadata.name}`);
    }
  }
  if (k.images) for (const object of objects) applyImages(object, k.images);
  if (k.namespace) {
    for (const object of objects) if (!CLUSTER_SCOPED.has(object.kind)) object.metadata.namespace = k.namespace;
  }
  const seen = new Set<string>();
  for (const object of objects) {
    if (seen.has(idOf(object))) throw new Error(`${file}: ${object.kind} ${object.metadata.name} is defined twice`);
    seen.add(idOf(object));
  }
  return objects;
}
