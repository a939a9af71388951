// POST /faults/profile {"name":"wan","regions":{"mirror":"us"}}: validation (pure; every problem at
// once) and the region each data node stands in for the profile: the request's `regions` first,
// then the region the node reports in its status, then the defaults (shared/wan-profile.ts).
//
// Only data-node↔data-node links get rules: control is no region's member but the lab's hand,
// and its links carry the witness's heartbeats and leases. A WAN latency there would move the
// failover timing (a primary's lease, the witness's silence) with the profile, where a participant
// expects the profile to change only what the data travels through.

import { DEFAULT_REGIONS, FALLBACK_REGION, isRegion, PROFILE_NAMES, type ProfileName, REGIONS, type Region } from '../../../../shared/wan-profile.ts';
import type { Parsed } from './fault-requests.ts';

export interface ProfileRequest {
  name: ProfileName;
  // Every data node's region for the profile, and where each came from.
  regions: Record<string, Region>;
  sources: Record<string, 'request' | 'reported' | 'default'>;
}

export const profileValid = { names: PROFILE_NAMES, regions: REGIONS };

// `nodes`: every data node, with the region its status reports (empty or unknown when none).
export function parseProfile(body: unknown, nodes: ReadonlyArray<{ id: string; region?: unknown }>): Parsed<ProfileRequest> {
  const problems: string[] = [];
  const ids = nodes.map((n) => n.id);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, problems: [`send a JSON object such as {"name":"wan","regions":{"mirror":"us"}} (names: ${PROFILE_NAMES.join(', ')})`] };
  }
  const record = body as Record<string, unknown>;
  for (const key of Object.keys(record)) if (key !== 'name' && key !== 'regions') problems.push(`unknown field "${key}" (fields: name, regions)`);
  if (!(PROFILE_NAMES as readonly unknown[]).includes(record.name)) problems.push(`name ${record.name === undefined ? 'is missing' : `${JSON.stringify(record.name)} is not a profile`} (names: ${PROFILE_NAMES.join(', ')})`);
  const asked = record.regions ?? {};
  if (typeof asked !== 'object' || asked === null || Array.isArray(asked)) problems.push(`regions must be an object of node id → region, e.g. {"mirror":"us"} (regions: ${REGIONS.join(', ')})`);
  const askedRegions = (typeof asked === 'object' && asked !== null ? asked : {}) as Record<string, unknown>;
  for (const [id, region] of Object.entries(askedRegions)) {
    if (!ids.includes(id)) problems.push(`regions: "${id}" is not a data node (nodes: ${ids.join(', ')})`);
    if (!isRegion(region)) problems.push(`regions: ${JSON.stringify(region)} for ${id} is not a region (regions: ${REGIONS.join(', ')})`);
  }
  if (problems.length > 0) return { ok: false, problems };
  const regions: Record<string, Region> = {};
  const sources: ProfileRequest['sources'] = {};
  for (const node of nodes) {
    const fromRequest = askedRegions[node.id];
    if (isRegion(fromRequest)) [regions[node.id], sources[node.id]] = [fromRequest, 'request'];
    else if (isRegion(node.region)) [regions[node.id], sources[node.id]] = [node.region, 'reported'];
    else [regions[node.id], sources[node.id]] = [DEFAULT_REGIONS[node.id] ?? FALLBACK_REGION, 'default'];
  }
  return { ok: true, value: { name: record.name as ProfileName, regions, sources } };
}
