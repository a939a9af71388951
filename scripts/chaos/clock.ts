// The run's clock: milliseconds since the clients and the nemesis started, on the monotonic clock,
// so history, nemesis and events share one time line. Wall-clock times (control's events) convert.

export class RunClock {
  private readonly startedAt = performance.now();
  readonly wallStartMs = Date.now();

  now(): number {
    return Math.round((performance.now() - this.startedAt) * 10) / 10;
  }

  // A wall-clock time (ms since 1970, or an ISO string) on the run's time line.
  fromWall(wall: number | string): number {
    const ms = typeof wall === 'number' ? wall : Date.parse(wall);
    return Math.round((ms - this.wallStartMs) * 10) / 10;
  }
}
