// Latency injection accuracy: control adds 50 ms, then 200 ms, on the link primary -> mirror
// (SPEC §5, POST /faults/latency); a sync write at 1 client must then take that much longer at
// p50, no more and no less. The baseline p50 is measured right before, on the same cluster, so
// drift between sections does not count as injection error.
//
// A rule from A to B delays what A sends to B (shared/link.ts), so one shipping round trip gets
// the delay once; heartbeats and the mirror's answers are not delayed.

import { callJson, pollUntil } from '../http.ts';
import { runLoadOf } from '../load/run.ts';
import { waitSteady } from '../readiness.ts';
import type { InjectionData, InjectionRow } from '../results.ts';
import { round } from '../stats.ts';
import { NotAvailable, type SectionContext, VALUE_BYTES } from './context.ts';

export const INJECTED_MS = [50, 200] as const;
const RULE_VISIBLE_TIMEOUT_MS = 3000;

export async function runInjection(ctx: SectionContext): Promise<InjectionData> {
  const { cluster, profile, progress } = ctx;
  const control = cluster.controlUrl;
  const rows: InjectionRow[] = [];
  try {
    for (const injectedMs of INJECTED_MS) {
      await waitSteady(cluster, 'primary', cluster.replicaIds().length);
      const baseline = await syncWritesP50(ctx, profile.injectionBaselineWrites, 0);
      const added = await callJson('POST', `${control}/faults/latency`, { from: 'primary', to: 'mirror', ms: injectedMs });
      if (added.status === 404) throw new NotAvailable('fault injection not available');
      if (added.status < 200 || added.status > 299) {
        throw new NotAvailable(`control refused the latency rule: ${added.status} ${JSON.stringify(added.body)}`);
      }
      const ruleVisibleInStatus = (await pollUntil(async () => {
        const faults = (await cluster.status('primary')).faults;
        return Array.isArray(faults) && faults.length > 0 ? true : null;
      }, RULE_VISIBLE_TIMEOUT_MS)) === true;
      if (!ruleVisibleInStatus) ctx.note(`latency rule of ${injectedMs} ms not listed in GET /status of the primary within ${RULE_VISIBLE_TIMEOUT_MS} ms; measured anyway`);
      const writes = profile.injectionWrites[injectedMs] ?? 20;
      const p50Ms = await syncWritesP50(ctx, writes, injectedMs);
      await heal(control);
      const addedP50Ms = round(p50Ms - baseline, 2);
      rows.push({ injectedMs, writes, baselineP50Ms: baseline, p50Ms, addedP50Ms, errorMs: round(addedP50Ms - injectedMs, 2), ruleVisibleInStatus });
      progress.say(`+${injectedMs} ms primary->mirror: sync p50 ${baseline} -> ${p50Ms} ms, added ${addedP50Ms} ms`);
    }
  } finally {
    // Never leave a rule behind for the next section, whatever happened here.
    await heal(control).catch(() => undefined);
  }
  return { rows };
}

async function heal(control: string): Promise<void> {
  const healed = await callJson('DELETE', `${control}/faults`);
  if (healed.status !== 404 && (healed.status < 200 || healed.status > 299)) throw new Error(`DELETE /faults answered ${healed.status}`);
}

// p50 of `count` sync writes one after another from a separate process.
async function syncWritesP50(ctx: SectionContext, count: number, injectedMs: number): Promise<number> {
  const result = await runLoadOf({
    kind: 'closed',
    baseUrl: ctx.cluster.url('primary'),
    ack: 'sync',
    clients: 1,
    warmupMs: 0,
    // A cap only: the run ends after `count` writes.
    durationMs: 30_000 + count * (injectedMs + 100) * 2,
    writesMax: count,
    keyPrefix: `inj/${injectedMs}/`,
    keySpace: count,
    valueBytes: VALUE_BYTES,
  });
  if (result.writesOk < count / 2) throw new Error(`only ${result.writesOk} of ${count} sync writes succeeded: ${JSON.stringify(result.errors)}`);
  return result.latency.p50Ms;
}
