// Goal: every answer a write can get is classified by the node's own word: ok, definitely failed
// (the error body says "definite":true) or indeterminate ("definite":false, no flag, no answer) —
// never by the error's code or the wording of its message; the history keeps the flag as it came;
// only a refused connection counts as "the request never arrived"; and a read's answer says who
// served it, also when the key is absent.

import { describe, expect, it } from 'vitest';
import { classifyRequestError, classifyWriteAnswer, definiteFlag, readOutcome, registerKey, writeKey, writeOutcome } from '../../../scripts/chaos/history.ts';

const answer = (status: number, body: unknown) => ({ status, headers: {}, body });

describe('chaos history classification', () => {
  it('takes a 200 as ok and an error with "definite":true as a definite failure, whatever its code', () => {
    expect(classifyWriteAnswer(200, { lsn: 1 })).toEqual({ result: 'ok', error: null });
    for (const [status, code] of [[400, 'bad_key'], [503, 'no_quorum'], [307, 'not_primary'], [504, 'ack_timeout'], [503, 'a_code_added_later']] as const) {
      expect(classifyWriteAnswer(status, { error: code, message: 'x', definite: true })).toEqual({ result: 'fail', error: code });
    }
  });

  it('takes "definite":false, a missing flag or a flag that is not the boolean true as indeterminate, whatever its code', () => {
    for (const [status, code] of [[400, 'bad_key'], [503, 'no_quorum'], [307, 'not_primary'], [504, 'ack_timeout'], [503, 'overloaded']] as const) {
      expect(classifyWriteAnswer(status, { error: code, message: 'x', definite: false })).toEqual({ result: 'info', error: code });
      expect(classifyWriteAnswer(status, { error: code, message: 'x' })).toEqual({ result: 'info', error: code });
      expect(classifyWriteAnswer(status, { error: code, message: 'x', definite: 'true' })).toEqual({ result: 'info', error: code });
    }
  });

  it('never reads the message: the same code and wording go either way on the flag alone', () => {
    const didNotHappen = 'this primary hears neither its mirror nor the witness, so it refuses writes to avoid split brain; the write did not happen';
    const mayHave = 'this primary lost its lease while LSN 9 waited; it may or may not survive a failover';
    expect(classifyWriteAnswer(503, { error: 'no_quorum', message: mayHave, lsn: 9, definite: true })).toEqual({ result: 'fail', error: 'no_quorum' });
    expect(classifyWriteAnswer(503, { error: 'no_quorum', message: didNotHappen, definite: false })).toEqual({ result: 'info', error: 'no_quorum' });
    expect(classifyWriteAnswer(503, { error: 'no_quorum', message: didNotHappen })).toEqual({ result: 'info', error: 'no_quorum' });
  });

  it('takes a body that is not the node\'s JSON as indeterminate', () => {
    expect(classifyWriteAnswer(502, 'Bad Gateway')).toEqual({ result: 'info', error: 'http_502' });
    expect(classifyWriteAnswer(503, null)).toEqual({ result: 'info', error: 'http_503' });
  });

  it('records the definite flag as it came, and none for an ok or a missing answer', () => {
    expect(definiteFlag({ error: 'x', definite: true })).toBe(true);
    expect(definiteFlag({ error: 'x', definite: false })).toBe(false);
    expect(definiteFlag({ error: 'x' })).toBeNull();
    expect(definiteFlag('text')).toBeNull();
    expect(writeOutcome(answer(503, { error: 'no_quorum', message: 'm', definite: true }), null)).toMatchObject({ result: 'fail', definite: true, error: 'no_quorum', message: 'm' });
    expect(writeOutcome(answer(504, { error: 'ack_timeout', message: 'm', definite: false, lsn: 7 }), null)).toMatchObject({ result: 'info', definite: false, lsn: 7 });
    expect(writeOutcome(answer(503, { error: 'overloaded', message: 'm' }), null)).toMatchObject({ result: 'info', definite: null });
    expect(writeOutcome(answer(200, { lsn: 3, epoch: 1, ackedBy: ['primary', 'mirror'], pending: [], degraded: false }), null)).toMatchObject({ result: 'ok', definite: null, lsn: 3, ackedBy: ['primary', 'mirror'] });
    expect(writeOutcome(null, Object.assign(new Error('x'), { code: 'UND_ERR_HEADERS_TIMEOUT' }))).toMatchObject({ result: 'info', definite: null, status: null });
  });

  it('reads the serving role from the answer, and an empty list answer as an absent key', () => {
    const key = 'w/1/000000004';
    expect(readOutcome(answer(200, { items: [], truncated: false, servedBy: 'mirror', role: 'primary', appliedLsn: 40 }), key)).toMatchObject({ result: 'ok', found: false, role: 'primary', servedBy: 'mirror', appliedLsn: 40 });
    expect(readOutcome(answer(200, { items: [{ key, value: { n: 4 }, lsn: 12 }], servedBy: 'primary', role: 'primary', appliedLsn: 40 }), key)).toMatchObject({ found: true, value: { n: 4 }, lsn: 12, role: 'primary' });
    expect(readOutcome(answer(200, { key, value: 'v', lsn: 3, servedBy: 'replica-1', role: 'replica', appliedLsn: 9 }), key)).toMatchObject({ found: true, value: 'v', role: 'replica' });
    // A 404 of GET /kv/:key names no role: the checker must not pin it on a primary.
    expect(readOutcome(answer(404, { error: 'not_found', message: 'no key' }), key)).toMatchObject({ result: 'ok', found: false, role: null, servedBy: null });
    expect(readOutcome(answer(503, { error: 'standby_not_readable', message: 'm' }), key)).toMatchObject({ result: 'fail', error: 'standby_not_readable' });
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
    expect(registerKey(3, 12)).toBe('r/03/000012');
  });
});
