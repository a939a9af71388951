// The chaos clients: concurrent loops that write unique keys under every ack level (local, sync,
// all, in turn) to a random data node — following one 307 to the primary — and read keys whose
// writes were acknowledged from replicas and the primary. Every operation lands in the history with
// its start, end, node and result (ok / fail / info). Loops are bounded by a deadline and by a count.

import type { ChaosCluster } from './cluster.ts';
import type { RunClock } from './clock.ts';
import { ACK_LEVELS, classifyRequestError, classifyWriteAnswer, type Op, type ReadOp, type WriteOp, writeKey } from './history.ts';
import { type Answer, type Http, sleep } from './http.ts';
import type { JsonLines } from './json-lines.ts';
import type { WitnessView } from './observer.ts';
import { createPrng, deriveSeed, type Prng } from './prng.ts';

export const workloadLimits = {
  // Longer than SYNC_TIMEOUT_MS plus the witness's consent: an answer later than this is a timeout.
  requestTimeoutMs: 4000,
  // A pause between one client's operations, so the history stays readable and the nodes' CPU
  // goes to the faults rather than to a flood.
  thinkMs: 10,
  failureBackoffMs: 100,
  readShare: 0.3,
  // Acknowledged writes a reader chooses from.
  recentAcksMax: 256,
  // Operations kept in memory for the checker, all clients together.
  opsMax: 3_000_000,
} as const;

export interface WorkloadContext {
  cluster: ChaosCluster;
  http: Http;
  clock: RunClock;
  history: JsonLines;
  seed: number;
  view: () => WitnessView | null;
}

export class Workload {
  readonly ops: Op[] = [];
  private readonly recentAcks: WriteOp[] = [];
  private nextId = 1;
  private stopping = false;
  private running: Promise<void> = Promise.resolve();

  constructor(private readonly ctx: WorkloadContext) {}

  start(concurrency: number, deadlineMs: number): void {
    this.running = Promise.all(Array.from({ length: concurrency }, (_, c) => this.client(c, deadlineMs))).then(() => undefined);
  }

  // Stops the loops; resolves when every operation in flight has its answer (or its timeout).
  async stop(): Promise<void> {
    this.stopping = true;
    await this.running;
  }

  // One write outside the client loops (the liveness probe at the end), recorded like the others.
  async probeWrite(seq: number, node: string): Promise<WriteOp> {
    return this.write(-1, 'final', seq, 'sync', node);
  }

  private async client(c: number, deadlineMs: number): Promise<void> {
    const rng = createPrng(deriveSeed(this.ctx.seed, `client-${c}`));
    let seq = 0;
    while (!this.stopping && this.ctx.clock.now() < deadlineMs && this.ops.length < workloadLimits.opsMax) {
      if (this.recentAcks.length > 0 && rng.chance(workloadLimits.readShare)) await this.read(c, rng);
      else {
        const ack = ACK_LEVELS[(seq + c) % ACK_LEVELS.length] as WriteOp['ack'];
        const op = await this.write(c, String(c), seq, ack, this.writeTarget(rng));
        seq++;
        // A refused or failed write is retried later, not in a tight loop against a dead node.
        if (op.result !== 'ok') await sleep(workloadLimits.failureBackoffMs);
      }
      await sleep(workloadLimits.thinkMs);
    }
  }

  // Half the writes go where the client believes the primary is, half anywhere (307s included).
  private writeTarget(rng: Prng): string {
    const primary = this.ctx.view()?.primaryId;
    return primary && rng.chance(0.5) ? primary : rng.pick(this.ctx.cluster.nodeIds());
  }

  private record<T extends Op>(op: T): T {
    this.ops.push(op);
    this.ctx.history.append(op);
    return op;
  }

  private async write(c: number, clientLabel: string, seq: number, ack: WriteOp['ack'], node: string): Promise<WriteOp> {
    const key = writeKey(clientLabel, seq);
    const value = { c: clientLabel, n: seq, ack };
    const id = this.nextId++;
    const startMs = this.ctx.clock.now();
    const base = { type: 'write' as const, id, client: c, key, value, ack, node, startMs };
    let servedBy: string | null = node;
    let redirected = false;
    let answer: Answer | null = null;
    let failure: unknown = null;
    try {
      answer = await this.put(`${this.ctx.cluster.url(node)}/kv/${key}?ack=${ack}`, value);
      const location = answer.headers.location;
      if (answer.status === 307 && typeof location === 'string') {
        redirected = true;
        servedBy = this.ctx.cluster.nodeAt(location);
        answer = await this.put(location, value);
      }
    } catch (error) {
      // Whichever hop failed, the outcome is this failure (never the first hop's 307).
      failure = error;
      answer = null;
    }
    const endMs = this.ctx.clock.now();
    const op = this.record({ ...base, servedBy, redirected, endMs, ...writeOutcome(answer, failure) });
    if (op.result === 'ok') {
      this.recentAcks.push(op);
      if (this.recentAcks.length > workloadLimits.recentAcksMax) this.recentAcks.shift();
    }
    return op;
  }

  private put(url: string, value: unknown): Promise<Answer> {
    return this.ctx.http.call('PUT', url, value, workloadLimits.requestTimeoutMs);
  }

  // Reads a key whose write was acknowledged: the newest one half the time (the most likely to be
  // missing on a lagging replica), else any recent one; from a replica mostly, else the primary.
  private async read(c: number, rng: Prng): Promise<ReadOp> {
    const write = rng.chance(0.5) ? (this.recentAcks[this.recentAcks.length - 1] as WriteOp) : rng.pick(this.recentAcks);
    const { node, role } = this.readTarget(rng);
    const id = this.nextId++;
    const startMs = this.ctx.clock.now();
    const base = { type: 'read' as const, id, client: c, key: write.key, writeId: write.id, node, startMs };
    const url = `${this.ctx.cluster.url(node)}/kv/${write.key}`;
    try {
      const answer = await this.ctx.http.call('GET', url, undefined, workloadLimits.requestTimeoutMs);
      const outcome = readOutcome(answer, role);
      if (outcome.result === 'ok' && !outcome.found && write.lsn !== null) outcome.probedAppliedLsn = await this.probeApplied(url, write.lsn);
      return this.record({ ...base, endMs: this.ctx.clock.now(), ...outcome });
    } catch (error) {
      const { error: code } = classifyRequestError(error);
      return this.record({ ...base, endMs: this.ctx.clock.now(), result: 'info', status: null, error: code, servedBy: null, role, found: false, lsn: null, appliedLsn: null });
    }
  }

  private readTarget(rng: Prng): { node: string; role: string | null } {
    const view = this.ctx.view();
    const nodes = this.ctx.cluster.nodeIds();
    const replicas = nodes.filter((id) => id !== view?.primaryId && id !== view?.mirrorId);
    if (view?.primaryId && (replicas.length === 0 || rng.chance(0.3))) return { node: view.primaryId, role: 'primary' };
    if (replicas.length > 0) return { node: rng.pick(replicas), role: 'replica' };
    return { node: rng.pick(nodes), role: null };
  }

  // A read missed the key: how far behind is that node? minLsn with waitMs=0 answers at once,
  // 504 replica_behind with its applied LSN. Null when it cannot tell.
  private async probeApplied(url: string, lsn: number): Promise<number | null> {
    const answer = await this.ctx.http.tryCall('GET', `${url}?minLsn=${lsn}&waitMs=0`, undefined, 1000);
    if (answer?.status === 504 && typeof answer.body?.appliedLsn === 'number') return answer.body.appliedLsn;
    if (answer?.status === 200 && typeof answer.body?.appliedLsn === 'number') return answer.body.appliedLsn;
    return null;
  }
}

function writeOutcome(answer: Answer | null, failure: unknown) {
  if (!answer) {
    const c = classifyRequestError(failure);
    return { ...c, status: null, lsn: null, epoch: null, ackedBy: [], pending: [], degraded: null };
  }
  const c = classifyWriteAnswer(answer.status, answer.body);
  const b = typeof answer.body === 'object' && answer.body !== null ? (answer.body as Record<string, unknown>) : {};
  const list = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  return {
    ...c,
    status: answer.status,
    ...(c.result === 'ok' || typeof b.message !== 'string' ? {} : { message: b.message.slice(0, 200) }),
    lsn: typeof b.lsn === 'number' ? b.lsn : null,
    epoch: typeof b.epoch === 'number' ? b.epoch : null,
    ackedBy: list(b.ackedBy),
    pending: list(b.pending),
    degraded: typeof b.degraded === 'boolean' ? b.degraded : null,
  };
}

function readOutcome(answer: Answer, role: string | null): Omit<ReadOp, 'type' | 'id' | 'client' | 'key' | 'writeId' | 'node' | 'startMs' | 'endMs'> {
  const b = typeof answer.body === 'object' && answer.body !== null ? (answer.body as Record<string, unknown>) : {};
  const appliedLsn = typeof b.appliedLsn === 'number' ? b.appliedLsn : null;
  if (answer.status === 200) {
    return {
      result: 'ok', status: 200, error: null, found: true, value: b.value, lsn: typeof b.lsn === 'number' ? b.lsn : null, appliedLsn,
      servedBy: typeof b.servedBy === 'string' ? b.servedBy : null, role: typeof b.role === 'string' ? b.role : role,
    };
  }
  const error = typeof b.error === 'string' ? b.error : `http_${answer.status}`;
  if (answer.status === 404 && error === 'not_found') return { result: 'ok', status: 404, error: null, found: false, lsn: null, appliedLsn, servedBy: null, role };
  return { result: 'fail', status: answer.status, error, found: false, lsn: null, appliedLsn, servedBy: null, role };
}
