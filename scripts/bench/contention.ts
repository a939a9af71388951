// How much of the machine other work took while the bench ran. The bench shares two cores with
// whatever else runs (another cluster, a test suite); every figure is worse for it, so the run
// measures that and prints it beside the results instead of pretending the machine was quiet.
// Linux only (/proc); elsewhere it reports nothing.

import { readdir, readFile } from 'node:fs/promises';

const SAMPLE_MS = 1000;
const TICKS_PER_S = 100;

interface ProcessInfo {
  ppid: number;
  cpuTicks: number;
}

async function readProcess(pid: number): Promise<ProcessInfo | null> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), cpuTicks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return null;
  }
}

export interface ContentionReport {
  // CPU used by processes outside this bench's process tree, in % of one core, averaged.
  foreignCpuPercent: number;
  // Most processes outside the tree seen using CPU in one sample.
  foreignBusyProcessesMax: number;
}

export class ContentionMonitor {
  private readonly lastTicks = new Map<number, number>();
  private foreignTicks = 0;
  private busyMax = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly startedMs = performance.now();
  private sampling: Promise<void> = Promise.resolve();

  start(): this {
    this.sampling = this.sample(true);
    this.timer = setInterval(() => {
      this.sampling = this.sampling.then(() => this.sample(false));
    }, SAMPLE_MS);
    this.timer.unref();
    return this;
  }

  async stop(): Promise<ContentionReport | null> {
    if (this.timer) clearInterval(this.timer);
    await this.sampling;
    await this.sample(false);
    const seconds = (performance.now() - this.startedMs) / 1000;
    if (this.lastTicks.size === 0) return null;
    return { foreignCpuPercent: Math.round((this.foreignTicks / TICKS_PER_S / seconds) * 100), foreignBusyProcessesMax: this.busyMax };
  }

  // Adds the CPU every process outside our tree used since the last sample.
  private async sample(first: boolean): Promise<void> {
    let entries: string[];
    try {
      entries = (await readdir('/proc')).filter((e) => /^\d+$/.test(e));
    } catch {
      return;
    }
    const infos = new Map<number, ProcessInfo>();
    await Promise.all(entries.map(async (e) => {
      const info = await readProcess(Number(e));
      if (info) infos.set(Number(e), info);
    }));
    const ours = (pid: number) => {
      for (let at = pid, hops = 0; at > 1 && hops < 64; hops++) {
        if (at === process.pid) return true;
        at = infos.get(at)?.ppid ?? 0;
      }
      return false;
    };
    let busy = 0;
    for (const [pid, info] of infos) {
      if (ours(pid)) continue;
      const before = this.lastTicks.get(pid);
      this.lastTicks.set(pid, info.cpuTicks);
      if (first || before === undefined) continue;
      const used = info.cpuTicks - before;
      if (used > 0) {
        this.foreignTicks += used;
        busy++;
      }
    }
    this.busyMax = Math.max(this.busyMax, busy);
  }
}
