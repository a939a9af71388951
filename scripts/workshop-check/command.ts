// Running a command of the workshop (docker, docker compose, bash, curl) as a participant would, with
// a bound on its time: a command past its bound is killed with its whole process group (a
// `docker compose up` spawns helpers) and reported as timed out, never waited on forever.

import { spawn } from 'node:child_process';

// What a command printed is kept up to this many characters per stream (its tail): enough for a
// failure report, bounded for a runaway command.
const OUTPUT_CHARS_MAX = 400_000;

export interface CommandResult {
  // The exit code; null when a signal or the timeout ended it.
  code: number | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  tookMs: number;
}

export interface CommandOptions {
  timeoutMs: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string;
}

function keepTail(text: string): string {
  return text.length > OUTPUT_CHARS_MAX ? text.slice(-OUTPUT_CHARS_MAX) : text;
}

export function runCommand(file: string, args: readonly string[], options: CommandOptions): Promise<CommandResult> {
  const startedMs = Date.now();
  return new Promise((resolve) => {
    // detached: the child leads its own process group, so the timeout reaches its helpers too.
    const child = spawn(file, args, { cwd: options.cwd, env: options.env ?? process.env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (chunk: Buffer) => (stdout = keepTail(stdout + chunk.toString())));
    child.stderr.on('data', (chunk: Buffer) => (stderr = keepTail(stderr + chunk.toString())));
    child.stdin.end(options.input ?? '');
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, options.timeoutMs);
    const finish = (code: number | null, extra = '') => {
      clearTimeout(timer);
      resolve({ code, timedOut, stdout, stderr: stderr + extra, tookMs: Date.now() - startedMs });
    };
    child.once('error', (err) => finish(null, `\n${file}: ${err.message}`));
    child.once('close', (code) => finish(code));
  });
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

// One line that says what ran and how it ended, for an error message.
export function describeResult(what: string, result: CommandResult): string {
  const ending = result.timedOut ? `timed out after ${result.tookMs} ms` : `exited ${result.code ?? 'by a signal'} after ${result.tookMs} ms`;
  const output = `${result.stderr}\n${result.stdout}`.trim().split('\n').slice(-40).join('\n');
  return `${what} ${ending}${output ? `:\n${output}` : ''}`;
}

// Runs the command and returns its stdout; throws with its output unless it exited 0.
export async function mustRun(file: string, args: readonly string[], options: CommandOptions): Promise<CommandResult> {
  const result = await runCommand(file, args, options);
  if (result.code !== 0) throw new Error(describeResult(`\`${[file, ...args].join(' ')}\``, result));
  return result;
}
