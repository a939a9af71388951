// What Linux's /proc says about a process: resident memory and CPU time. Elsewhere (no /proc)
// every reading is null and the bench prints n/a.

import { readFile } from 'node:fs/promises';

// Linux's USER_HZ: /proc/<pid>/stat counts CPU time in these ticks; 100 on every mainstream
// architecture (the kernel fixes it for user space whatever its internal HZ).
const TICKS_PER_S = 100;

export interface MemoryReading {
  // Resident set size now and its peak (high-water mark), in MiB.
  rssMiB: number;
  hwmMiB: number;
}

export async function readMemory(pid: number | null): Promise<MemoryReading | null> {
  if (pid === null) return null;
  try {
    const text = await readFile(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN);
    return { rssMiB: kib('VmRSS') / 1024, hwmMiB: kib('VmHWM') / 1024 };
  } catch {
    return null;
  }
}

// User + system CPU seconds the process has used so far.
export async function readCpuSeconds(pid: number | null): Promise<number | null> {
  if (pid === null) return null;
  try {
    const text = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
  } catch {
    return null;
  }
}

// CPU use of several processes over a span, in % of one core.
export class CpuMeter {
  private constructor(
    private readonly pids: Record<string, number | null>,
    private readonly before: Record<string, number | null>,
    private readonly startedMs: number,
  ) {}

  static async start(pids: Record<string, number | null>): Promise<CpuMeter> {
    const before: Record<string, number | null> = {};
    for (const [id, pid] of Object.entries(pids)) before[id] = await readCpuSeconds(pid);
    return new CpuMeter(pids, before, performance.now());
  }

  async stop(): Promise<Record<string, number | null>> {
    const seconds = (performance.now() - this.startedMs) / 1000;
    const percent: Record<string, number | null> = {};
    for (const [id, pid] of Object.entries(this.pids)) {
      const after = await readCpuSeconds(pid);
      const before = this.before[id];
      percent[id] = after === null || before === null || before === undefined ? null : Math.round(((after - before) / seconds) * 100);
    }
    return percent;
  }
}
