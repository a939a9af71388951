// Goal: the launcher shows pino JSON as one readable line (time, level, message, remaining fields)
// and passes every other line through untouched, so a crash message is never hidden.

import { describe, expect, it } from 'vitest';
import { formatLogLine } from '../../../scripts/lib/log-line.ts';

const time = Date.UTC(2024, 0, 2, 12, 1, 2, 123);

describe('formatLogLine', () => {
  it('formats a pino record as time, level name, message and compact remaining fields', () => {
    const line = JSON.stringify({ level: 30, time, pid: 42, hostname: 'h', nodeId: 'primary', msg: 'became primary at epoch 1', lsn: 0 });
    expect(formatLogLine(line, { utc: true })).toBe('12:01:02.123 INFO became primary at epoch 1 {"lsn":0}');
  });

  it('names every pino level', () => {
    const names = [10, 20, 30, 40, 50, 60].map((level) => formatLogLine(JSON.stringify({ level, time, msg: 'm' }), { utc: true }).split(' ')[1]);
    expect(names).toEqual(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL']);
  });

  it('omits the field block when nothing remains', () => {
    expect(formatLogLine(JSON.stringify({ level: 40, time, msg: 'node unreachable' }), { utc: true })).toBe('12:01:02.123 WARN node unreachable');
  });

  it('puts an error stack on indented lines of its own', () => {
    const err = { type: 'Error', message: 'boom', stack: 'Error: boom\n    at f (a.ts:1:1)\n    at g (b.ts:2:2)' };
    const out = formatLogLine(JSON.stringify({ level: 50, time, msg: 'request failed', err }), { utc: true });
    expect(out.split('\n')).toEqual([
      '12:01:02.123 ERROR request failed {"err":{"type":"Error","message":"boom"}}',
      '    at f (a.ts:1:1)',
      '    at g (b.ts:2:2)',
    ]);
  });

  it('passes non-JSON lines and JSON that is not a pino record through unchanged', () => {
    for (const line of ['Error: Cannot find module x', '', '{not json', '[1,2]', '{"a":1}', '  at main (x.ts:1:1)']) {
      expect(formatLogLine(line)).toBe(line);
    }
  });

  it('colours the level only when asked', () => {
    const line = JSON.stringify({ level: 50, time, msg: 'x' });
    expect(formatLogLine(line, { utc: true, color: true })).toBe('12:01:02.123 \u001b[31mERROR\u001b[0m x');
  });
});
