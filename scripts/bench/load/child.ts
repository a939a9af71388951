// The load generator's process: started by run.ts with an IPC channel, it waits for one `run`
// message, drives the cluster, sends back one `result` (or `failed`), and exits. A `follow` run
// goes on until a `stop` message. If the bench process goes away, the channel closes and this
// process exits with it, so no load generator outlives its bench.

import { runClosedLoop } from './closed-loop.ts';
import { runFollow } from './follow.ts';
import type { ChildMessage, LoadResult, LoadSpec, ParentMessage } from './protocol.ts';
import { runRateLoop } from './rate-loop.ts';
import { runRtt } from './rtt.ts';

function send(message: ChildMessage): void {
  process.send?.(message);
}

async function run(spec: LoadSpec, stopped: AbortSignal): Promise<LoadResult> {
  switch (spec.kind) {
    case 'closed':
      return { kind: 'closed', ...(await runClosedLoop(spec, (phase) => send({ type: 'window', phase }))) };
    case 'rate':
      return runRateLoop(spec);
    case 'rtt':
      return runRtt(spec);
    case 'follow':
      return runFollow(spec, stopped, send);
  }
}

if (!process.send) {
  process.stderr.write('load child: start me through scripts/bench/load/run.ts (I need an IPC channel)\n');
  process.exit(2);
}

const stop = new AbortController();
process.on('disconnect', () => process.exit(0));
process.on('message', (message: ParentMessage) => {
  if (message.type === 'stop') {
    stop.abort();
    return;
  }
  run(message.spec, stop.signal).then(
    (result) => send({ type: 'result', result }),
    (error: unknown) => send({ type: 'failed', message: error instanceof Error ? error.stack ?? error.message : String(error) }),
  );
});
send({ type: 'ready' });
