// `npm run reset`: POST /cluster/reset on control and print the answer for a person — the steps it
// took, and, when it could not finish (409 reset_incomplete), what needs a hand with the exact
// command for each. Exit 0 when the cluster is back at its starting point, 1 otherwise.
//
// Environment (optional):
//   CONTROL_URL  control's base URL (default http://127.0.0.1:7000)
//   NODE_CMD     "docker compose" or "npm run node --": how the todo list spells a start command
//                (default: control's own NODE_CMD)

import { request } from 'undici';
import { limits } from '../shared/limits.ts';

const controlUrl = (process.env.CONTROL_URL || 'http://127.0.0.1:7000').replace(/\/+$/, '');
// The reset bounds itself; the margin covers the answer's way back.
const TIMEOUT_MS = limits.resetMsMax + 15_000;

interface Step {
  step: string;
  detail: string;
  atMs: number;
}

function print(lines: string[]): void {
  process.stdout.write(`${lines.join('\n')}\n`);
}

function stepLines(steps: Step[] = []): string[] {
  const width = Math.max(0, ...steps.map((s) => s.step.length));
  return steps.map((s) => `  ${s.step.padEnd(width)}  ${s.detail}`);
}

async function main(): Promise<number> {
  const body = process.env.NODE_CMD ? JSON.stringify({ nodeCmd: process.env.NODE_CMD }) : undefined;
  print([`resetting the cluster through ${controlUrl} (up to ${limits.resetMsMax / 1000} s) ...`]);
  let answer: { status: number; body: any };
  try {
    const response = await request(`${controlUrl}/cluster/reset`, {
      method: 'POST',
      headers: body ? { 'content-type': 'application/json' } : {},
      body,
      headersTimeout: TIMEOUT_MS,
      bodyTimeout: TIMEOUT_MS,
    });
    answer = { status: response.statusCode, body: await response.body.json() };
  } catch (error) {
    process.stderr.write(`npm run reset: control does not answer at ${controlUrl} (${(error as Error).message}); is the cluster up? (npm start, or docker compose up)\n`);
    return 1;
  }
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const { status, body: b } = answer;
  if (status === 200) {
    print([`reset done in ${seconds(b.tookMs)}:`, ...stepLines(b.steps), `primary ${b.primary}, mirror ${b.mirror}, epoch ${b.epoch}`]);
    return 0;
  }
  if (status === 409 && b.error === 'reset_incomplete') {
    const todo = (b.todo as Array<{ what: string; command: string }>).flatMap((t) => [`  - ${t.what}`, `      $ ${t.command}`]);
    print([`reset incomplete after ${seconds(b.tookMs)}; done so far:`, ...(b.steps.length > 0 ? stepLines(b.steps) : ['  (nothing)']), 'needs a hand:', ...todo]);
    return 1;
  }
  process.stderr.write(`npm run reset: control answered ${status}: ${b.message ?? JSON.stringify(b)}\n`);
  return 1;
}

main().then((code) => process.exit(code));
