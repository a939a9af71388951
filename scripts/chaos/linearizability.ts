// A linearizability checker for one register (one key): the Wing–Gong search with Lowe's
// memoization, as Porcupine implements it. Pure and bounded, so hand-made histories test it
// (tests/unit/chaos/linearizability.test.ts) and a pathological history answers "unknown" instead
// of running away with the CPU.
//
// A history is a set of operations, each with its invocation and completion times on one monotonic
// clock. A write whose outcome is unknown (a timeout, an indefinite error) completes at +Infinity: it
// may take effect at any moment after its invocation, or never. The history is linearizable when some
// total order of its operations respects real time (an operation that completed before another was
// invoked comes first) and makes every read return the value of the write just before it (or
// "absent" when no write precedes it).
//
// Wing–Gong walks the invocation/completion events in time order and tries, at each step, to
// linearize one operation whose invocation has been seen; reaching the completion of an operation not
// yet linearized means the choice so far was wrong, so it backtracks. Lowe's cache remembers every
// (set of linearized operations, register value) already explored, which turns the exponential
// search into one bounded by the history's concurrency in practice.

// A value is canonical JSON text; null stands for "absent" (the initial state, or a delete).
export type RegisterValue = string | null;

export interface RegisterOp {
  // The caller's id for the operation (the history's op id): explanations name it.
  id: number;
  kind: 'write' | 'read';
  // A write: the value it writes. A read: the value it returned.
  value: RegisterValue;
  callMs: number;
  // Infinity for an indefinite write.
  returnMs: number;
}

export interface RegisterLimits {
  // Operations in one key's history; beyond it the key is not searched at all.
  opsPerKeyMax: number;
  // Search steps (one event looked at) for one key.
  stepsPerKeyMax: number;
  // Wall time for one key's search.
  keyBudgetMs: number;
}

export type RegisterVerdict =
  | { verdict: 'linearizable'; steps: number }
  | { verdict: 'not_linearizable'; steps: number }
  | { verdict: 'unknown'; steps: number; reason: string };

// A write whose outcome is unknown and whose value no read returned can always be placed "never":
// dropping it keeps a linearizable history linearizable and a violation a violation, and it is what
// keeps timed-out writes from doubling the search space each.
export function pruneUnobserved(ops: readonly RegisterOp[]): RegisterOp[] {
  const seen = new Set(ops.filter((op) => op.kind === 'read').map((op) => op.value));
  return ops.filter((op) => op.kind === 'read' || op.returnMs !== Infinity || seen.has(op.value));
}

interface Entry {
  op: number;
  // The completion entry of a call entry; null on completion entries.
  match: Entry | null;
  prev: Entry | null;
  next: Entry | null;
}

// The event list: every call and completion in time order. On equal times calls come first, so two
// operations that touch the same millisecond count as concurrent: the checker never claims an order
// the clock cannot prove.
function eventList(ops: readonly RegisterOp[]): Entry {
  const events: Array<{ time: number; isCall: boolean; op: number }> = [];
  ops.forEach((op, i) => {
    events.push({ time: op.callMs, isCall: true, op: i }, { time: op.returnMs, isCall: false, op: i });
  });
  events.sort((a, b) => a.time - b.time || Number(b.isCall) - Number(a.isCall) || a.op - b.op);
  const head: Entry = { op: -1, match: null, prev: null, next: null };
  const returns = new Map<number, Entry>();
  const calls: Entry[] = [];
  let last = head;
  for (const e of events) {
    const entry: Entry = { op: e.op, match: null, prev: last, next: null };
    if (e.isCall) calls.push(entry);
    else returns.set(e.op, entry);
    last.next = entry;
    last = entry;
  }
  for (const call of calls) call.match = returns.get(call.op) ?? null;
  return head;
}

// Takes a call and its completion out of the list (the operation is linearized), and puts them back.
function lift(call: Entry): void {
  const ret = call.match as Entry;
  (call.prev as Entry).next = call.next;
  (call.next as Entry).prev = call.prev;
  (ret.prev as Entry).next = ret.next;
  if (ret.next) ret.next.prev = ret.prev;
}

function unlift(call: Entry): void {
  const ret = call.match as Entry;
  (ret.prev as Entry).next = ret;
  if (ret.next) ret.next.prev = ret;
  (call.prev as Entry).next = call;
  (call.next as Entry).prev = call;
}

// The register model: values become small numbers (0 = absent) so the cache key stays short. A read
// of a value no write in the history wrote gets -1, which no state ever equals.
function valueCodes(ops: readonly RegisterOp[]): Int32Array {
  const codes = new Map<RegisterValue, number>([[null, 0]]);
  for (const op of ops) if (op.kind === 'write' && !codes.has(op.value)) codes.set(op.value, codes.size);
  return Int32Array.from(ops, (op) => codes.get(op.value) ?? -1);
}

// Checks one key's history within the limits; `now` is injectable so a test can run out of time.
export function checkRegister(history: readonly RegisterOp[], limits: RegisterLimits, now: () => number = () => performance.now()): RegisterVerdict {
  const ops = pruneUnobserved(history);
  if (ops.length > limits.opsPerKeyMax) return { verdict: 'unknown', steps: 0, reason: `${ops.length} operations, more than the ${limits.opsPerKeyMax} searched per key` };
  const code = valueCodes(ops);
  const head = eventList(ops);
  const linearized = new Uint32Array(Math.ceil(ops.length / 32) + 1);
  const cache = new Set<string>();
  const calls: Array<{ entry: Entry; state: number }> = [];
  const deadline = now() + limits.keyBudgetMs;
  let state = 0;
  let entry = head.next;
  let steps = 0;
  while (head.next !== null && entry !== null) {
    steps++;
    if (steps > limits.stepsPerKeyMax) return { verdict: 'unknown', steps, reason: `more than ${limits.stepsPerKeyMax} search steps` };
    if ((steps & 0xfff) === 0 && now() > deadline) return { verdict: 'unknown', steps, reason: `more than ${limits.keyBudgetMs} ms of search` };
    if (entry.match !== null) {
      const op = ops[entry.op] as RegisterOp;
      const opCode = code[entry.op] as number;
      // A write always applies; a read applies only when the register holds what it returned.
      const nextState = op.kind === 'write' ? opCode : state === opCode ? state : -1;
      if (nextState === -1) {
        entry = entry.next;
        continue;
      }
      linearized[entry.op >>> 5] = (linearized[entry.op >>> 5] as number) | (1 << (entry.op & 31));
      const key = `${linearized.join(',')}|${nextState}`;
      if (cache.has(key)) {
        linearized[entry.op >>> 5] = (linearized[entry.op >>> 5] as number) & ~(1 << (entry.op & 31));
        entry = entry.next;
        continue;
      }
      cache.add(key);
      calls.push({ entry, state });
      state = nextState;
      lift(entry);
      entry = head.next;
    } else {
      // The completion of an operation not linearized yet: undo the last choice and try the next.
      const top = calls.pop();
      if (!top) return { verdict: 'not_linearizable', steps };
      linearized[top.entry.op >>> 5] = (linearized[top.entry.op >>> 5] as number) & ~(1 << (top.entry.op & 31));
      state = top.state;
      unlift(top.entry);
      entry = top.entry.next;
    }
  }
  return { verdict: 'linearizable', steps };
}

export interface Explanation {
  ops: RegisterOp[];
  // False when the budget ran out before every operation was tried: the set is a violation, but
  // maybe not the smallest.
  minimal: boolean;
}

// A violation a person can read: drops operations one at a time while the rest stays a violation
// (greedy, to a fixed point), never dropping a write whose value a remaining read returned (else a
// "read of a value never written" would hide the real story). What is left is 1-minimal: without
// any one of its operations the history would be linearizable.
export function explainViolation(history: readonly RegisterOp[], limits: RegisterLimits, budgetMs: number, now: () => number = () => performance.now()): Explanation {
  const deadline = now() + budgetMs;
  let kept = pruneUnobserved(history);
  for (let changed = true; changed;) {
    changed = false;
    for (const op of [...kept]) {
      if (now() > deadline) return { ops: kept, minimal: false };
      if (op.kind === 'write' && kept.some((r) => r.kind === 'read' && r.value === op.value)) continue;
      const without = pruneUnobserved(kept.filter((o) => o !== op));
      if (checkRegister(without, limits, now).verdict !== 'not_linearizable') continue;
      kept = without;
      changed = true;
    }
  }
  return { ops: [...kept].sort((a, b) => a.callMs - b.callMs || a.id - b.id), minimal: true };
}
