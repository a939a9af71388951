// The step list of a workshop check: each step prints its name, what it saw, and how long it took,
// and the run ends with the whole list and its timings (what goes into a release note). The first
// step that fails ends the run: later steps build on the cluster state earlier ones left.

export type Note = (line: string) => void;

interface StepRecord {
  name: string;
  tookMs: number;
  ok: boolean;
}

export class CheckSteps {
  private readonly records: StepRecord[] = [];
  private readonly startedMs = Date.now();

  constructor(private readonly title: string) {
    this.print(`${title}\n`);
  }

  // Runs one step; a throw is the step's failure and propagates after it is printed.
  async step<T>(name: string, run: (note: Note) => Promise<T>): Promise<T> {
    const number = this.records.length + 1;
    this.print(`\n${number}. ${name}\n`);
    const startedMs = Date.now();
    const note: Note = (line) => this.print(`   ${line}\n`);
    try {
      const value = await run(note);
      const tookMs = Date.now() - startedMs;
      this.records.push({ name, tookMs, ok: true });
      this.print(`   ok (${seconds(tookMs)})\n`);
      return value;
    } catch (err) {
      const tookMs = Date.now() - startedMs;
      this.records.push({ name, tookMs, ok: false });
      this.print(`   FAILED after ${seconds(tookMs)}: ${(err as Error).message}\n`);
      throw err;
    }
  }

  // The whole list: one line per step, its time, and the total.
  summary(): string {
    const width = Math.max(...this.records.map((r) => r.name.length), 10);
    const lines = this.records.map((r, i) => `${String(i + 1).padStart(2)}. ${r.ok ? 'ok    ' : 'FAILED'} ${r.name.padEnd(width)} ${seconds(r.tookMs).padStart(8)}`);
    const failed = this.records.some((r) => !r.ok);
    lines.push(`${failed ? 'FAILED' : 'passed'}: ${this.records.filter((r) => r.ok).length} of ${this.records.length} steps in ${seconds(Date.now() - this.startedMs)}`);
    return `\n${this.title}: steps\n${lines.join('\n')}\n`;
  }

  print(text: string): void {
    process.stdout.write(text);
  }
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
