// Progress lines on stderr while the bench runs (the table goes to stdout at the end), each with
// the time since the bench started, so a slow or stuck step is visible as it happens.

export class Progress {
  private readonly startedMs = performance.now();

  elapsedMs(): number {
    return performance.now() - this.startedMs;
  }

  section(title: string): void {
    process.stderr.write(`\n${this.stamp()} == ${title}\n`);
  }

  say(text: string): void {
    process.stderr.write(`${this.stamp()}    ${text}\n`);
  }

  warn(text: string): void {
    process.stderr.write(`${this.stamp()} !! ${text}\n`);
  }

  private stamp(): string {
    const seconds = Math.floor(this.elapsedMs() / 1000);
    return `[bench ${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}]`;
  }
}
