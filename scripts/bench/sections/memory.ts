// Memory: resident set size (VmRSS, and its peak VmHWM) of every data node, read from
// /proc/<pid>/status, once the catch-up section has left about catchUpEntries keys of 100 bytes
// in the cluster. RSS is the state (keys, values as JSON, per-key digests) plus the in-memory
// backlog of recent entries (up to 200,000) plus V8 and tsx; a replica rebuilt by full resync has
// no backlog, which shows in its figure.

import { readMemory } from '../proc.ts';
import type { MemoryData } from '../results.ts';
import { round } from '../stats.ts';
import { type SectionContext, VALUE_BYTES } from './context.ts';

export async function runMemory(ctx: SectionContext): Promise<MemoryData> {
  const { cluster, progress } = ctx;
  const nodes: MemoryData['nodes'] = {};
  const rebuilt = ctx.results.catchup?.status === 'ok' ? ctx.results.catchup.data.copy : null;
  for (const id of cluster.dataNodeIds()) {
    const memory = await readMemory(cluster.pid(id));
    const status = await cluster.status(id);
    nodes[id] = {
      keys: status.keys,
      backlogNote: id === rebuilt ? 'rebuilt by full resync: empty backlog' : 'backlog of recent entries in memory',
      rssMiB: memory ? round(memory.rssMiB, 1) : null,
      hwmMiB: memory ? round(memory.hwmMiB, 1) : null,
      rssAtStartMiB: ctx.rssAtStartMiB[id] === null || ctx.rssAtStartMiB[id] === undefined ? null : round(ctx.rssAtStartMiB[id], 1),
    };
    progress.say(`${id}: ${status.keys} keys, RSS ${nodes[id].rssMiB ?? 'n/a'} MiB (peak ${nodes[id].hwmMiB ?? 'n/a'} MiB; ${nodes[id].rssAtStartMiB ?? 'n/a'} MiB when empty)`);
  }
  return { valueBytes: VALUE_BYTES, nodes };
}
