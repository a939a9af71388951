// The bench's side of a load generator: forks load/child.ts (a separate Node process on tsx, so
// its CPU is not ours), hands it one spec and waits for its result. Every child is killed when its
// run ends or fails; none outlives the bench (the child also exits when the IPC channel closes).

import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChildMessage, LoadResult, LoadSpec } from './protocol.ts';

const CHILD_PATH = fileURLToPath(new URL('./child.ts', import.meta.url));

export interface LoadHandle {
  readonly pid: number | undefined;
  // Settles with the child's result (after stop() for a follow run).
  readonly result: Promise<LoadResult>;
  // Asks a follow run to finish and send its result.
  stop(): void;
  // Ends the child at once (SIGKILL) if it still runs; its result then rejects.
  kill(): void;
}

// Starts one load run. onMessage sees the child's progress messages (a follow run's epochs).
export function startLoad(spec: LoadSpec, onMessage?: (message: ChildMessage) => void): LoadHandle {
  const child: ChildProcess = fork(CHILD_PATH, [], {
    execPath: process.execPath,
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    // The generator's own profile, if the bench is profiled, would only be noise.
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  const result = new Promise<LoadResult>((resolve, reject) => {
    let settled = false;
    child.on('message', (message: ChildMessage) => {
      if (message.type === 'ready') {
        child.send({ type: 'run', spec });
      } else if (message.type === 'result') {
        settled = true;
        resolve(message.result);
        child.kill();
      } else if (message.type === 'failed') {
        settled = true;
        reject(new Error(`load generator failed: ${message.message}`));
        child.kill();
      } else {
        onMessage?.(message);
      }
    });
    child.once('error', (error) => {
      if (!settled) reject(new Error(`load generator could not run: ${error.message}`));
      settled = true;
    });
    child.once('exit', (code, signal) => {
      if (!settled) reject(new Error(`load generator exited (${signal ?? `code ${code}`}) before giving a result`));
      settled = true;
    });
  });
  return {
    pid: child.pid,
    result,
    stop: () => {
      if (child.connected) child.send({ type: 'stop' });
    },
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

export function runLoad(spec: LoadSpec, onMessage?: (message: ChildMessage) => void): Promise<LoadResult> {
  return startLoad(spec, onMessage).result;
}

type Of<K extends LoadResult['kind']> = Extract<LoadResult, { kind: K }>;

// One run of the given kind; throws if the child answered with another kind (a bench bug).
export async function runLoadOf<K extends LoadSpec['kind'] & LoadResult['kind']>(
  spec: Extract<LoadSpec, { kind: K }>,
  onMessage?: (message: ChildMessage) => void,
): Promise<Of<K>> {
  const result = await runLoad(spec, onMessage);
  if (result.kind !== spec.kind) throw new Error(`load generator answered a ${result.kind} result to a ${spec.kind} run`);
  return result as Of<K>;
}
