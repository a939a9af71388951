// Writers that follow the primary through failovers, as a client library would: a 307 moves them to
// its Location; a refused connection, a timeout or a 503 moves them to the next node after a short
// pause. The first write acknowledged in each new epoch is reported at once (wall clock), which is
// what the failover measurement times.
//
// Measurement error: a writer that failed waits retryDelayMs before trying again, so the first
// acknowledgement in a new epoch can come up to about retryDelayMs (plus a round trip) after the
// new primary could first have taken it.

import { Agent } from 'undici';
import { setTimeout as sleep } from 'node:timers/promises';
import { wallMs } from '../stats.ts';
import type { ChildMessage, LoadResult, LoadSpec } from './protocol.ts';
import { countError, errorKey, putValue, valueBody } from './write-request.ts';

type FollowSpec = Extract<LoadSpec, { kind: 'follow' }>;

// Short enough that a write to a dead node fails fast; a sync write normally takes milliseconds.
const WRITE_TIMEOUT_MS = 2000;

export async function runFollow(
  spec: FollowSpec,
  stopped: AbortSignal,
  report: (message: ChildMessage) => void,
): Promise<Extract<LoadResult, { kind: 'follow' }>> {
  const agent = new Agent({ connections: spec.clients, keepAliveTimeout: 30_000 });
  const body = valueBody(spec.valueBytes);
  const origins = spec.urls.map((url) => new URL(url).origin);
  const errors: Record<string, number> = {};
  let target = origins[0] as string;
  let epochSeen = 0;
  let writesOk = 0;

  const moveOn = (from: string) => {
    // Only the first writer to notice moves everyone on; the others just retry at the new target.
    if (target === from) target = origins[(origins.indexOf(from) + 1) % origins.length] as string;
  };

  const client = async (clientIndex: number): Promise<void> => {
    for (let n = 0; !stopped.aborted; n++) {
      const origin = target;
      const path = `/kv/${spec.keyPrefix}c${clientIndex}/${n % spec.keySpace}?ack=${encodeURIComponent(spec.ack)}`;
      try {
        const answer = await putValue(agent, origin, path, body, WRITE_TIMEOUT_MS);
        if (answer.status === 200) {
          writesOk++;
          if (answer.epoch > epochSeen) {
            epochSeen = answer.epoch;
            report({ type: 'epoch', epoch: answer.epoch, atMs: wallMs(), url: origin });
          }
          continue;
        }
        countError(errors, `http_${answer.status}`);
        if (answer.status === 307 && answer.location) {
          const next = new URL(answer.location).origin;
          if (next !== origin) {
            target = next;
            continue;
          }
        }
        moveOn(origin);
      } catch (error) {
        countError(errors, errorKey(error));
        moveOn(origin);
      }
      await sleep(spec.retryDelayMs);
    }
  };

  await Promise.all(Array.from({ length: spec.clients }, (_, i) => client(i)));
  await agent.close();
  return { kind: 'follow', writesOk, errors };
}
