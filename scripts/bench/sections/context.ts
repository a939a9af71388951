// What every section gets: the cluster, the run's counts, the progress printer, and what the
// sections before it measured. A section returns its data, throws NotAvailable when the feature
// it measures does not exist (yet) in this build, and throws anything else when it broke.

import type { BenchCluster } from '../cluster.ts';
import type { BenchProfile } from '../options.ts';
import type { Progress } from '../progress.ts';
import type { SectionResults } from '../results.ts';

// Every value the bench writes is a JSON string of this many bytes, quotes included.
export const VALUE_BYTES = 100;

export interface SectionContext {
  cluster: BenchCluster;
  profile: BenchProfile;
  progress: Progress;
  results: SectionResults;
  // Each data node's resident memory right after the cluster started (MiB; null without /proc).
  rssAtStartMiB: Record<string, number | null>;
  note(text: string): void;
}

export class NotAvailable extends Error {}
