// Snapshot files: the whole key-value state at one LSN, written so that a crash at any moment
// leaves the old snapshot or the new one on disk, never a torn file that passes for valid.
//
// A file is one JSON document laid out one item per line:
//   {"lsn":N,"epoch":E,"lsnEpoch":F,"count":C,"items":[
//   ["key","valueJson",lsn],
//   ...
//   ]}
// Any JSON tool reads it whole, while the loader here parses it line by line and so never builds
// one giant string (a V8 string tops out near 512 MiB). `count` and the closing line tell a
// complete file from one cut short. valueJson is stored as a JSON string, not inlined, so it comes
// back byte for byte: the state's digest hashes that exact text.

import { readdir, readFile, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { TEMP_SUFFIX, writeFileAtomic } from '../../../../shared/atomic-file.ts';
import { limits } from '../../../../shared/limits.ts';


export interface SnapshotData {
  // The state includes every entry up to and including this LSN.
  lsn: number;
  // The epoch of the node when the snapshot was taken.
  epoch: number;
  // The epoch of the entry at `lsn`; 0 when lsn is 0.
  lsnEpoch: number;
  items: Array<[key: string, valueJson: string, lsn: number]>;
}

export interface SnapshotLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

const SNAPSHOT_NAME = /^snapshot-(\d{20})\.json$/;
const CLOSING_LINE = ']}';
const NEWLINE = 0x0a;

// The file name of the snapshot at `lsn`: zero padded so names sort like LSNs.
export function snapshotFileName(lsn: number): string {
  return `snapshot-${String(lsn).padStart(20, '0')}.json`;
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function isItem(value: unknown): value is [string, string, number] {
  return (
    Array.isArray(value) &&
    value.length === 3 &&
    typeof value[0] === 'string' &&
    typeof value[1] === 'string' &&
    isCount(value[2])
  );
}

// A snapshot's items cut into the chunks a full resync sends: at most limits.snapshotChunkKeys
// items and, past the first, limits.snapshotChunkBytesMax bytes of keys and values each, so a chunk
// of large values stays under the receiver's body limit. At least one chunk, maybe empty.
export function* snapshotChunks(items: readonly SnapshotData['items'][number][]): Generator<{ items: SnapshotData['items']; last: boolean }> {
  let start = 0;
  do {
    let end = start;
    let bytes = 0;
    while (end < items.length && end - start < limits.snapshotChunkKeys) {
      const [key, valueJson] = items[end] as [string, string, number];
      if (end > start && bytes + key.length + valueJson.length > limits.snapshotChunkBytesMax) break;
      bytes += key.length + valueJson.length;
      end++;
    }
    yield { items: items.slice(start, end) as SnapshotData['items'], last: end >= items.length };
    start = end;
  } while (start < items.length);
}

// Why `snapshot` cannot be written, or null when it can. Checks every item: O(items).
export function snapshotProblem(snapshot: SnapshotData): string | null {
  if (!isCount(snapshot.lsn) || !isCount(snapshot.epoch) || !isCount(snapshot.lsnEpoch)) {
    return 'lsn, epoch and lsnEpoch must be non-negative safe integers';
  }
  if (snapshot.lsn === 0 && snapshot.lsnEpoch !== 0) return 'lsnEpoch must be 0 when lsn is 0';
  if (!Array.isArray(snapshot.items)) return 'items must be an array';
  for (const item of snapshot.items) {
    if (!isItem(item)) return `item ${JSON.stringify(item)?.slice(0, 80)} is not [key, valueJson, lsn]`;
  }
  return null;
}

// Writes the whole of `buffer` at `position`. Throws on an error or a write that makes no progress.
async function writeAll(file: FileHandle, buffer: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buffer.length) {
    const { bytesWritten } = await file.write(buffer, done, buffer.length - done, position + done);
    if (bytesWritten <= 0) throw new Error(`write made no progress at byte ${position + done}`);
    done += bytesWritten;
  }
}

// Writes `snapshot` into `dir` durably (shared/atomic-file.ts). Once it resolves the snapshot
// survives a crash; older files are left alone.
export async function writeSnapshotFile(dir: string, snapshot: SnapshotData): Promise<void> {
  await writeFileAtomic(join(dir, snapshotFileName(snapshot.lsn)), (file) => writeSnapshotContent(file, snapshot), {
    crashPoints: { tmpWritten: 'snapshot.tmp-written', renamed: 'snapshot.renamed' },
  });
}

async function writeSnapshotContent(file: FileHandle, snapshot: SnapshotData): Promise<void> {
  const { lsn, epoch, lsnEpoch, items } = snapshot;
  let position = 0;
  const header = Buffer.from(`{"lsn":${lsn},"epoch":${epoch},"lsnEpoch":${lsnEpoch},"count":${items.length},"items":[\n`);
  await writeAll(file, header, position);
  position += header.length;
  // Items go out in chunks bounded by keys and bytes, so a huge state never sits in memory twice.
  let lines: string[] = [];
  let lineBytes = 0;
  for (let i = 0; i < items.length; i++) {
    const line = JSON.stringify(items[i]) + (i < items.length - 1 ? ',\n' : '\n');
    lines.push(line);
    lineBytes += line.length;
    if (lines.length >= limits.snapshotChunkKeys || lineBytes >= limits.commitBatchBytesMax) {
      const chunk = Buffer.from(lines.join(''));
      await writeAll(file, chunk, position);
      position += chunk.length;
      lines = [];
      lineBytes = 0;
    }
  }
  await writeAll(file, Buffer.from(lines.join('') + CLOSING_LINE + '\n'), position);
}

// Reads the line that starts at `offset`: its text and the offset after its newline, or null when
// no newline follows (the file was cut short).
function lineAt(buffer: Buffer, offset: number): { text: string; next: number } | null {
  const end = buffer.indexOf(NEWLINE, offset);
  if (end < 0) return null;
  return { text: buffer.toString('utf8', offset, end), next: end + 1 };
}

function parseHeader(text: string): { lsn: number; epoch: number; lsnEpoch: number; count: number } | string {
  if (!text.endsWith('"items":[')) return 'the first line does not open the items';
  let header: unknown;
  try {
    header = JSON.parse(text + CLOSING_LINE);
  } catch {
    return 'the first line is not JSON';
  }
  const h = header as Record<string, unknown>;
  if (!isCount(h.lsn) || !isCount(h.epoch) || !isCount(h.lsnEpoch) || !isCount(h.count)) {
    return 'the header lacks lsn, epoch, lsnEpoch or count';
  }
  return { lsn: h.lsn, epoch: h.epoch, lsnEpoch: h.lsnEpoch, count: h.count };
}

// Parses a snapshot file's bytes: the snapshot, or a string saying why the file is not valid.
// Never throws on bad bytes.
export function parseSnapshot(buffer: Buffer): SnapshotData | string {
  const first = lineAt(buffer, 0);
  if (!first) return 'the file has no complete first line';
  const header = parseHeader(first.text);
  if (typeof header === 'string') return header;
  const items: SnapshotData['items'] = [];
  let offset = first.next;
  for (let i = 0; i < header.count; i++) {
    const line = lineAt(buffer, offset);
    if (!line) return `the file ends after ${i} of ${header.count} items`;
    const text = line.text.endsWith(',') ? line.text.slice(0, -1) : line.text;
    let item: unknown;
    try {
      item = JSON.parse(text);
    } catch {
      return `item ${i} is not JSON`;
    }
    if (!isItem(item)) return `item ${i} is not [key, valueJson, lsn]`;
    items.push(item);
    offset = line.next;
  }
  const closing = lineAt(buffer, offset);
  if (!closing || closing.text !== CLOSING_LINE || closing.next !== buffer.length) {
    return 'the file does not end right after its items';
  }
  return { lsn: header.lsn, epoch: header.epoch, lsnEpoch: header.lsnEpoch, items };
}

// The snapshot files in `dir` with their LSNs, oldest first; other names are ignored.
async function listSnapshots(dir: string): Promise<Array<{ lsn: number; path: string }>> {
  const found: Array<{ lsn: number; path: string }> = [];
  for (const name of await readdir(dir)) {
    const match = SNAPSHOT_NAME.exec(name);
    if (match?.[1] !== undefined) found.push({ lsn: Number(match[1]), path: join(dir, name) });
  }
  return found.sort((a, b) => a.lsn - b.lsn);
}

async function unlinkIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

// Loads the newest valid snapshot in `dir`, or null when there is none. Invalid files (a torn
// write, garbage) and leftover tmp files are logged and deleted: they are newer than the valid
// one only because a write never completed, and nothing was compacted on their account.
export async function loadNewestSnapshot(dir: string, logger: SnapshotLogger): Promise<SnapshotData | null> {
  for (const name of await readdir(dir)) {
    if (!name.endsWith(TEMP_SUFFIX)) continue;
    logger.info({ file: name }, 'unfinished snapshot file deleted');
    await unlinkIfPresent(join(dir, name));
  }
  const files = await listSnapshots(dir);
  for (let i = files.length - 1; i >= 0; i--) {
    const file = files[i];
    if (!file) continue;
    const parsed = parseSnapshot(await readFile(file.path));
    let problem = typeof parsed === 'string' ? parsed : null;
    if (typeof parsed !== 'string' && parsed.lsn !== file.lsn) problem = `it holds LSN ${parsed.lsn}, not the one in its name`;
    if (problem === null && typeof parsed !== 'string') return parsed;
    logger.warn({ file: file.path, reason: problem }, 'invalid snapshot file ignored and deleted');
    await unlinkIfPresent(file.path);
  }
  return null;
}

// Deletes the snapshot files in `dir` whose LSN `doomed` accepts; returns how many.
export async function deleteSnapshots(dir: string, doomed: (lsn: number) => boolean): Promise<number> {
  let count = 0;
  for (const file of await listSnapshots(dir)) {
    if (!doomed(file.lsn)) continue;
    await unlinkIfPresent(file.path);
    count++;
  }
  return count;
}
