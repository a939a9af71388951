// Goal: every answer a write can get is classified as the node's error catalog means it: ok,
// definitely failed (nothing happened) or indeterminate (it may have happened); and only a refused
// connection counts as "the request never arrived".

import { describe, expect, it } from 'vitest';
import { classifyRequestError, classifyWriteAnswer, writeKey } from '../../../scripts/chaos/history.ts';

describe('chaos history classification', () => {
  it('classifies the node error catalog', () => {
    expect(classifyWriteAnswer(200, { lsn: 1 })).toEqual({ result: 'ok', error: null });
    for (const [status, code] of [[400, 'bad_key'], [400, 'bad_ack'], [413, 'too_large'], [503, 'overloaded'], [503, 'unavailable'], [503, 'not_primary'], [307, 'not_primary']] as const) {
      expect(classifyWriteAnswer(status, { error: code, message: 'x' })).toEqual({ result: 'fail', error: code });
    }
    for (const [status, code] of [[503, 'mirror_unavailable'], [504, 'ack_timeout'], [500, 'write_failed'], [500, 'internal']] as const) {
      expect(classifyWriteAnswer(status, { error: code, message: 'x', lsn: 4 })).toEqual({ result: 'info', error: code });
    }
  });

  it('tells no_quorum before the append (definite) from no_quorum while waiting (indefinite)', () => {
    expect(classifyWriteAnswer(503, { error: 'no_quorum', message: 'this primary hears neither its mirror nor the witness, so it refuses writes to avoid split brain; the write did not happen' })).toEqual({ result: 'fail', error: 'no_quorum' });
    expect(classifyWriteAnswer(503, { error: 'no_quorum', message: 'this primary lost its quorum while LSN 9 waited; it may or may not survive a failover', lsn: 9 })).toEqual({ result: 'info', error: 'no_quorum' });
  });

  it('takes an unknown error as indeterminate, not as "it did not happen"', () => {
    expect(classifyWriteAnswer(502, 'Bad Gateway')).toEqual({ result: 'info', error: 'http_502' });
    expect(classifyWriteAnswer(503, { error: 'something_new' })).toEqual({ result: 'info', error: 'something_new' });
  });

  it('counts only a refused connection as definite among network errors', () => {
    expect(classifyRequestError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toEqual({ result: 'fail', error: 'econnrefused' });
    expect(classifyRequestError(Object.assign(new Error('x'), { code: 'UND_ERR_HEADERS_TIMEOUT' }))).toEqual({ result: 'info', error: 'und_err_headers_timeout' });
    expect(classifyRequestError(Object.assign(new Error('x'), { code: 'UND_ERR_SOCKET' }))).toEqual({ result: 'info', error: 'und_err_socket' });
    expect(classifyRequestError(new DOMException('timed out', 'TimeoutError'))).toEqual({ result: 'info', error: 'timeout' });
    expect(classifyRequestError(new Error('fetch failed', { cause: Object.assign(new Error('c'), { code: 'ECONNREFUSED' }) }))).toEqual({ result: 'fail', error: 'econnrefused' });
  });

  it('makes fixed-width keys, so no key is a prefix of another', () => {
    expect(writeKey(3, 12)).toBe('w/3/000000012');
    expect(writeKey('final', 0)).toBe('w/final/000000000');
  });
});
