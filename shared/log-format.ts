// The on-disk and on-the-wire format of a log entry. The mirror stores the very bytes the primary
// wrote, so one encoding serves the log file, the mirror's HTTP batches and the replicas' stream.
//
// A record is a frame:  u32 payload length (BE) | u32 CRC-32 of the payload (BE) | payload
// The payload is JSON: {"lsn":N,"epoch":E,"ts":ms,"op":"put","key":K,"value":<json>} or op "del"
// without value. A torn or corrupted frame fails its length or checksum test and is never applied.

import { crc32 } from 'node:zlib';

export const FRAME_HEADER_BYTES = 8;
// A frame larger than this is corruption, not data: the value limit is 1 MiB.
export const FRAME_PAYLOAD_BYTES_MAX = 2 * 1024 * 1024;

export type EntryOp = 'put' | 'del';

export interface LogEntry {
  lsn: number;
  epoch: number;
  // The primary's wall clock when it accepted the write, in ms since the epoch.
  ts: number;
  op: EntryOp;
  key: string;
  // The value as JSON text; undefined for 'del'.
  valueJson?: string;
  // The whole frame as written: header and payload.
  frame: Buffer;
}

export interface NewEntry {
  lsn: number;
  epoch: number;
  ts: number;
  op: EntryOp;
  key: string;
  valueJson?: string;
}

export function encodeEntry(entry: NewEntry): LogEntry {
  let payloadText = `{"lsn":${entry.lsn},"epoch":${entry.epoch},"ts":${entry.ts},"op":"${entry.op}","key":${JSON.stringify(entry.key)}`;
  if (entry.op === 'put') {
    if (entry.valueJson === undefined) throw new Error('a put entry needs a value');
    payloadText += `,"value":${entry.valueJson}`;
  }
  payloadText += '}';
  const payload = Buffer.from(payloadText, 'utf8');
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  frame.writeUInt32BE(crc32(payload), 4);
  payload.copy(frame, FRAME_HEADER_BYTES);
  return { ...entry, frame };
}

export type DecodeResult =
  | { kind: 'entry'; entry: LogEntry; next: number }
  // Not enough bytes for a whole frame: a torn tail when reading a file.
  | { kind: 'incomplete' }
  // The frame is whole but wrong: bad length, bad checksum or bad payload.
  | { kind: 'corrupt'; reason: string };

// Decodes the frame that starts at `offset`. Never throws on bad bytes.
export function decodeFrame(buffer: Buffer, offset = 0): DecodeResult {
  if (buffer.length - offset < FRAME_HEADER_BYTES) return { kind: 'incomplete' };
  const length = buffer.readUInt32BE(offset);
  if (length === 0 || length > FRAME_PAYLOAD_BYTES_MAX) return { kind: 'corrupt', reason: `bad frame length ${length}` };
  const end = offset + FRAME_HEADER_BYTES + length;
  if (end > buffer.length) return { kind: 'incomplete' };
  const payload = buffer.subarray(offset + FRAME_HEADER_BYTES, end);
  if (crc32(payload) !== buffer.readUInt32BE(offset + 4)) return { kind: 'corrupt', reason: 'checksum mismatch' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload.toString('utf8'));
  } catch {
    return { kind: 'corrupt', reason: 'payload is not JSON' };
  }
  const entry = toEntry(parsed, Buffer.from(buffer.subarray(offset, end)));
  if (!entry) return { kind: 'corrupt', reason: 'payload is not a log entry' };
  return { kind: 'entry', entry, next: end };
}

function toEntry(parsed: unknown, frame: Buffer): LogEntry | null {
  if (typeof parsed !== 'object' || parsed === null) return null;
  const p = parsed as Record<string, unknown>;
  if (!Number.isSafeInteger(p.lsn) || !Number.isSafeInteger(p.epoch) || typeof p.ts !== 'number') return null;
  if (typeof p.key !== 'string' || (p.op !== 'put' && p.op !== 'del')) return null;
  const entry: LogEntry = { lsn: p.lsn as number, epoch: p.epoch as number, ts: p.ts, op: p.op, key: p.key, frame };
  if (p.op === 'put') {
    if (!('value' in p)) return null;
    entry.valueJson = JSON.stringify(p.value);
  }
  return entry;
}

// Decodes a buffer of back-to-back frames (a mirror batch, a stream message). All or nothing:
// a batch with any bad frame is refused whole.
export function decodeFrames(buffer: Buffer): { entries: LogEntry[] } | { error: string } {
  const entries: LogEntry[] = [];
  let offset = 0;
  while (offset < buffer.length) {
    const result = decodeFrame(buffer, offset);
    if (result.kind === 'incomplete') return { error: `truncated frame at byte ${offset}` };
    if (result.kind === 'corrupt') return { error: `${result.reason} at byte ${offset}` };
    entries.push(result.entry);
    offset = result.next;
  }
  return { entries };
}

export function concatFrames(entries: readonly LogEntry[]): Buffer {
  return Buffer.concat(entries.map((e) => e.frame));
}
