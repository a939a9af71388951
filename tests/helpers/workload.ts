// Concurrent writers for cluster tests: bounded loops that follow 307 redirects to whichever node
// is primary, record every acknowledged write, and stop on request or when their count runs out.

import { putJson } from './http.ts';

export interface AckedWrite {
  key: string;
  lsn: number;
  epoch: number;
  ackedBy: string[];
  degraded: boolean;
  // When the test received the acknowledgement (ms since the epoch).
  at: number;
}

export interface Workload {
  acked: AckedWrite[];
  errors: number;
  stop(): Promise<void>;
}

export function startWrites(options: { urls: () => string[]; prefix: string; ack: string; concurrency: number; countMax: number }): Workload {
  const acked: AckedWrite[] = [];
  let errors = 0;
  let stopping = false;
  const writer = async (w: number) => {
    for (let i = 0; i < options.countMax && !stopping; i++) {
      const key = `${options.prefix}/${w}/${i}`;
      const urls = options.urls();
      const base = urls[i % urls.length] as string;
      try {
        let response = await putJson(`${base}/kv/${key}?ack=${options.ack}`, { w, i }, { timeoutMs: 5000 });
        if (response.status === 307 && typeof response.headers.location === 'string') {
          response = await putJson(response.headers.location, { w, i }, { timeoutMs: 5000 });
        }
        if (response.status === 200) acked.push({ key, lsn: response.body.lsn, epoch: response.body.epoch, ackedBy: response.body.ackedBy, degraded: response.body.degraded, at: Date.now() });
        else errors++;
      } catch {
        errors++;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  };
  const running = Promise.all(Array.from({ length: options.concurrency }, (_, w) => writer(w)));
  return {
    acked,
    get errors() {
      return errors;
    },
    stop: async () => {
      stopping = true;
      await running;
    },
  };
}
