// Control's fault rule table: the one source of truth for every rule in the cluster. Each rule gets
// an id (f1, f2, ...; never reused), its creation time and a description. The table is persisted
// in DATA_DIR (faults.json, written atomically, shared/atomic-file.ts) so rules outlive a control
// restart; a table that cannot be read is logged and replaced by an empty one.

import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../../../../shared/atomic-file.ts';
import path from 'node:path';
import type { Logger } from 'pino';
import { describeRule, type FaultRule, type LatencyRule, ruleTableHash, ruleTableProblems } from '../../../../shared/fault-rules.ts';
import type { RuleDraft } from './fault-requests.ts';

interface PersistedTable {
  nextId: number;
  rules: FaultRule[];
}

export class FaultTable {
  private rules: FaultRule[] = [];
  private nextId = 1;
  private hashValue = ruleTableHash([]);
  // Writes happen one after another, in the order of the changes.
  private writing: Promise<void> = Promise.resolve();
  private readonly listeners: Array<(rules: readonly FaultRule[]) => void> = [];

  constructor(
    private readonly options: { dataDir: string; rulesMax: number; logger: Logger },
  ) {}

  private get file(): string {
    return path.join(this.options.dataDir, 'faults.json');
  }

  // Reads the persisted table, if any. Called once at boot, before the first request.
  async load(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as { code?: string }).code !== 'ENOENT') this.options.logger.warn({ err: error }, 'cannot read faults.json; starting with no fault rules');
      return;
    }
    try {
      const table = JSON.parse(text) as PersistedTable;
      const problems = ruleTableProblems(table.rules, this.options.rulesMax);
      if (problems.length > 0 || !Number.isSafeInteger(table.nextId)) throw new Error(problems.join('; ') || 'bad nextId');
      this.rules = table.rules;
      this.nextId = table.nextId;
      this.changed();
      this.options.logger.info({ rules: this.rules.length }, `fault rules restored from ${this.file}`);
    } catch (error) {
      this.options.logger.warn({ err: error }, 'faults.json is unreadable; starting with no fault rules');
    }
  }

  list(): readonly FaultRule[] {
    return this.rules;
  }

  get(id: string): FaultRule | undefined {
    return this.rules.find((r) => r.id === id);
  }

  // The fingerprint nodes report back in GET /status (see ruleTableHash).
  get hash(): string {
    return this.hashValue;
  }

  get full(): boolean {
    return this.rules.length >= this.options.rulesMax;
  }

  // Called after every change with the new table (the link, the push to the nodes, metrics).
  onChange(listener: (rules: readonly FaultRule[]) => void): void {
    this.listeners.push(listener);
  }

  // Adds a rule; the caller checked `full` first. Resolves once the table is persisted.
  async add(draft: RuleDraft, now = new Date()): Promise<FaultRule> {
    if (this.full) throw new Error(`the fault table holds ${this.options.rulesMax} rules already`);
    const rule = { ...draft, id: `f${this.nextId++}`, createdAt: now.toISOString(), description: describeRule(draft) } as FaultRule;
    this.rules = [...this.rules, rule];
    await this.commit();
    return rule;
  }

  // Removes one rule; null when there is no such id.
  async remove(id: string): Promise<FaultRule | null> {
    const rule = this.get(id);
    if (!rule) return null;
    this.rules = this.rules.filter((r) => r.id !== id);
    await this.commit();
    return rule;
  }

  // Puts a profile's rules in place of the previous profile's (profiles replace, never stack);
  // the other rules stay. Throws when the table would hold more than its bound.
  async replaceProfile(drafts: readonly RuleDraft[], now = new Date()): Promise<{ removed: FaultRule[]; added: FaultRule[] }> {
    const removed = this.rules.filter(isProfileRule);
    const kept = this.rules.filter((r) => !isProfileRule(r));
    if (kept.length + drafts.length > this.options.rulesMax) throw new Error(`the fault table would hold ${kept.length + drafts.length} rules, more than ${this.options.rulesMax}`);
    const added = drafts.map((draft) => ({ ...draft, id: `f${this.nextId++}`, createdAt: now.toISOString(), description: describeRule(draft) }) as FaultRule);
    this.rules = [...kept, ...added];
    await this.commit();
    return { removed, added };
  }

  // Room for a profile of `count` rules, once the current profile's rules are gone.
  fitsProfile(count: number): boolean {
    return this.rules.filter((r) => !isProfileRule(r)).length + count <= this.options.rulesMax;
  }

  // The active profile, read from its rules: its name and the region of every node it names.
  profile(): { name: string; regions: Record<string, string> } | null {
    const rules = this.rules.filter(isProfileRule) as LatencyRule[];
    const first = rules[0];
    if (!first?.profile) return null;
    const regions: Record<string, string> = {};
    for (const rule of rules) {
      if (!rule.regions) continue;
      regions[rule.from] = rule.regions[0];
      regions[rule.to] = rule.regions[1];
    }
    return { name: first.profile, regions };
  }

  // Removes every rule (heal all); returns what was removed.
  async clear(): Promise<FaultRule[]> {
    const removed = this.rules;
    this.rules = [];
    await this.commit();
    return removed;
  }

  private changed(): void {
    this.hashValue = ruleTableHash(this.rules);
    for (const listener of this.listeners) listener(this.rules);
  }

  private async commit(): Promise<void> {
    this.changed();
    const table: PersistedTable = { nextId: this.nextId, rules: this.rules };
    const write = this.writing.then(async () => {
      await writeFileAtomic(this.file, JSON.stringify(table, null, 2));
    });
    // A failed write is logged; the rules still act (they live in memory and on the nodes).
    this.writing = write.catch((error) => this.options.logger.error({ err: error }, 'cannot persist the fault rules'));
    await this.writing;
  }
}

function isProfileRule(rule: FaultRule): boolean {
  return rule.kind === 'latency' && rule.profile !== undefined;
}
