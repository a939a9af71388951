// Goal: a log record round-trips byte for byte, and a torn or corrupted frame is recognised as
// such (never decoded into a wrong entry).

import { describe, expect, it } from 'vitest';
import { concatFrames, decodeFrame, decodeFrames, encodeEntry } from '../../../shared/log-format.ts';

describe('log record format', () => {
  const put = encodeEntry({ lsn: 7, epoch: 2, ts: 123, op: 'put', key: 'a/b', valueJson: '{"x":[1,"é"]}' });
  const del = encodeEntry({ lsn: 8, epoch: 2, ts: 124, op: 'del', key: 'a/b' });

  it('round-trips puts and deletes with the same bytes', () => {
    const decoded = decodeFrames(concatFrames([put, del]));
    if ('error' in decoded) throw new Error(decoded.error);
    expect(decoded.entries.map((e) => [e.lsn, e.epoch, e.op, e.key, e.valueJson])).toEqual([
      [7, 2, 'put', 'a/b', '{"x":[1,"é"]}'],
      [8, 2, 'del', 'a/b', undefined],
    ]);
    expect(Buffer.concat(decoded.entries.map((e) => e.frame)).equals(concatFrames([put, del]))).toBe(true);
  });

  it('reports a torn tail as incomplete', () => {
    expect(decodeFrame(put.frame.subarray(0, put.frame.length - 1)).kind).toBe('incomplete');
    expect(decodeFrame(put.frame.subarray(0, 5)).kind).toBe('incomplete');
  });

  it('reports a flipped byte as corrupt', () => {
    const bad = Buffer.from(put.frame);
    bad[bad.length - 3] = (bad[bad.length - 3] ?? 0) ^ 0xff;
    expect(decodeFrame(bad)).toMatchObject({ kind: 'corrupt', reason: 'checksum mismatch' });
    expect('error' in decodeFrames(Buffer.concat([put.frame, bad]))).toBe(true);
  });
});
