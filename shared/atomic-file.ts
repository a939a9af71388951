// The one way this project replaces a file durably: write a temporary file, fsync it, rename it
// over the target, fsync the directory. A kill -9 at any moment leaves the old file or the new
// one, never a torn one; once the promise resolves, the new one survives a crash (the directory
// fsync makes the rename itself durable). Used for every state file: the node's role and epoch,
// the witness's record, the fault table, snapshots and rollback files.

import { mkdir, open, rename, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { crashPoint, type CrashPointName } from './crash-points.ts';

export const TEMP_SUFFIX = '.tmp';

// The file's content, or a function that writes it (for content too large to build in memory).
export type FileContent = string | Buffer | ((file: FileHandle) => Promise<void>);

export interface AtomicWriteOptions {
  // Crash points around the rename: `<prefix>.tmp-written` before it, `<prefix>.renamed` after.
  crashPoints?: { tmpWritten: CrashPointName; renamed: CrashPointName };
}

export async function writeFileAtomic(path: string, content: FileContent, options: AtomicWriteOptions = {}): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const temp = `${path}${TEMP_SUFFIX}`;
  const file = await open(temp, 'w');
  try {
    if (typeof content === 'function') await content(file);
    else await file.writeFile(content);
    await file.sync();
  } catch (error) {
    await file.close();
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await file.close();
  if (options.crashPoints) crashPoint(options.crashPoints.tmpWritten);
  await rename(temp, path);
  if (options.crashPoints) crashPoint(options.crashPoints.renamed);
  await syncDirectory(dir);
}

// Makes the creations, renames and deletions of names in `dir` durable (fsync of the directory).
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
