// The chaos clients: concurrent loops that write unique keys under every ack level (local, sync,
// all, in turn) to a random data node — following one 307 to the primary — and read keys whose
// writes were acknowledged from replicas and the primary. A share of every client's operations goes
// to a few register keys instead: overwritten by every client (ack=sync and ack=all) and read on the
// primary, so the checker's linearizability search has concurrent writes and reads to judge. Every
// operation lands in the history with its start, end, node and result (ok / fail / info). Loops are
// bounded by a deadline and by a count.

import type { ChaosCluster } from './cluster.ts';
import type { RunClock } from './clock.ts';
import { ACK_LEVELS, classifyRequestError, type Op, type ReadOp, readOutcome, registerKey, type WriteOp, writeKey, writeOutcome } from './history.ts';
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
  // Of the operations on unique keys, this share are reads (once some write was acknowledged).
  readShare: 0.3,
  // Of those reads, this share go to the node the client believes is the primary: only they enter
  // the linearizability check, so they must be common; the rest go to replicas (staleness report).
  primaryReadShare: 0.5,
  // This share of all operations work on the register keys, half writes, half primary reads.
  registerShare: 0.25,
  registerSlots: 4,
  // Of the register reads, this share go to any data node instead of the believed primary: a
  // deposed primary that still serves reads is found only by a client that still talks to it, as a
  // real client with a stale view would. The answer's role decides whether the read is checked.
  registerReadAnyNodeShare: 0.25,
  // Each register slot moves to a fresh key this often, so one key's history stays far below the
  // checker's per-key bound (a few hundred operations at most at the default concurrency).
  registerLifeMs: 5000,
  // Acknowledged writes a reader chooses from.
  recentAcksMax: 256,
  // Operations kept in memory for the checker, all clients together.
  opsMax: 3_000_000,
} as const;

// Register writes use only the ack levels whose acknowledged writes must survive any single fault:
// an acknowledged ack=local write may be lost at a failover by design (SPEC §6.6), which a
// linearizability check would rightly call a violation.
const REGISTER_ACKS = ['sync', 'all'] as const;

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
    return this.write(-1, writeKey('final', seq), { c: 'final', n: seq, ack: 'sync' }, 'sync', node, false);
  }

  private async client(c: number, deadlineMs: number): Promise<void> {
    const rng = createPrng(deriveSeed(this.ctx.seed, `client-${c}`));
    let seq = 0;
    let registerSeq = 0;
    while (!this.stopping && this.ctx.clock.now() < deadlineMs && this.ops.length < workloadLimits.opsMax) {
      let ok = true;
      if (rng.chance(workloadLimits.registerShare)) {
        if (rng.chance(0.5)) await this.registerRead(c, rng);
        else ok = (await this.registerWrite(c, registerSeq++, rng)).result === 'ok';
      } else if (this.recentAcks.length > 0 && rng.chance(workloadLimits.readShare)) await this.read(c, rng);
      else {
        const ack = ACK_LEVELS[(seq + c) % ACK_LEVELS.length] as WriteOp['ack'];
        const label = String(c);
        ok = (await this.write(c, writeKey(label, seq), { c: label, n: seq, ack }, ack, this.writeTarget(rng), true)).result === 'ok';
        seq++;
      }
      // A refused or failed write is retried later, not in a tight loop against a dead node.
      if (!ok) await sleep(workloadLimits.failureBackoffMs);
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

  // The register key a slot holds now: every client agrees on it by the run's clock.
  private registerKeyNow(rng: Prng): string {
    return registerKey(rng.int(0, workloadLimits.registerSlots - 1), Math.floor(this.ctx.clock.now() / workloadLimits.registerLifeMs));
  }

  private registerWrite(c: number, n: number, rng: Prng): Promise<WriteOp> {
    const ack = REGISTER_ACKS[n % REGISTER_ACKS.length] as WriteOp['ack'];
    // The value is unique per key (client and its own count), so a read names the write it saw.
    return this.write(c, this.registerKeyNow(rng), { c: String(c), n, ack }, ack, this.writeTarget(rng), false);
  }

  private registerRead(c: number, rng: Prng): Promise<ReadOp> {
    const primary = this.ctx.view()?.primaryId;
    const anyNode = !primary || rng.chance(workloadLimits.registerReadAnyNodeShare);
    const node = anyNode ? rng.pick(this.ctx.cluster.nodeIds()) : primary;
    // Read by the list route either way: only its answer names the role when the key is absent.
    return this.readKey(c, this.registerKeyNow(rng), null, node, node === primary ? 'primary' : null, 'list');
  }

  // One write; `remember`: a later read may look its key up (unique keys only: a register key is
  // overwritten, so "the value of this write" is not what a later read must see).
  private async write(c: number, key: string, value: unknown, ack: WriteOp['ack'], node: string, remember: boolean): Promise<WriteOp> {
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
    if (op.result === 'ok' && remember) {
      this.recentAcks.push(op);
      if (this.recentAcks.length > workloadLimits.recentAcksMax) this.recentAcks.shift();
    }
    return op;
  }

  private put(url: string, value: unknown): Promise<Answer> {
    return this.ctx.http.call('PUT', url, value, workloadLimits.requestTimeoutMs);
  }

  // Reads a key whose write was acknowledged: the newest one half the time (the most likely to be
  // missing on a lagging replica), else any recent one; from the primary or a replica.
  private read(c: number, rng: Prng): Promise<ReadOp> {
    const write = rng.chance(0.5) ? (this.recentAcks[this.recentAcks.length - 1] as WriteOp) : rng.pick(this.recentAcks);
    const { node, role } = this.readTarget(rng);
    return this.readKey(c, write.key, write, node, role, role === 'primary' ? 'list' : 'get');
  }

  // `via` list is GET /kv?prefix=<key>&limit=1: its answer names the serving node's role even when
  // the key is absent, which a 404 of GET /kv/:key does not, and an absent key on a primary is
  // exactly the stale read that must be caught; so every read that may land on a primary goes that
  // way. Keys are fixed width, so the prefix matches that key alone. Reads meant for replicas use
  // GET /kv/:key, the everyday route.
  private async readKey(c: number, key: string, write: WriteOp | null, node: string, targetRole: string | null, via: ReadOp['via']): Promise<ReadOp> {
    const base = { type: 'read' as const, id: this.nextId++, client: c, key, writeId: write?.id ?? null, via, node, targetRole, startMs: this.ctx.clock.now() };
    const nodeUrl = this.ctx.cluster.url(node);
    const url = via === 'list' ? `${nodeUrl}/kv?prefix=${encodeURIComponent(key)}&limit=1` : `${nodeUrl}/kv/${key}`;
    try {
      const answer = await this.ctx.http.call('GET', url, undefined, workloadLimits.requestTimeoutMs);
      const outcome = readOutcome(answer, key);
      const endMs = this.ctx.clock.now();
      if (outcome.result === 'ok' && !outcome.found && write && write.lsn !== null) outcome.probedAppliedLsn = await this.probeApplied(`${nodeUrl}/kv/${key}`, write.lsn);
      return this.record({ ...base, endMs, ...outcome });
    } catch (error) {
      const { error: code } = classifyRequestError(error);
      return this.record({ ...base, endMs: this.ctx.clock.now(), result: 'info', status: null, error: code, servedBy: null, role: null, found: false, lsn: null, appliedLsn: null });
    }
  }

  private readTarget(rng: Prng): { node: string; role: string | null } {
    const view = this.ctx.view();
    const nodes = this.ctx.cluster.nodeIds();
    const replicas = nodes.filter((id) => id !== view?.primaryId && id !== view?.mirrorId);
    if (view?.primaryId && (replicas.length === 0 || rng.chance(workloadLimits.primaryReadShare))) return { node: view.primaryId, role: 'primary' };
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
