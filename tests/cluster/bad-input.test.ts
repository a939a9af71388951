// Goal: bad input gets a clear JSON error with the right status, never a stack trace or a hang,
// loses nothing, and the cluster keeps working; internal routes refuse a missing or wrong secret.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, postJson, putJson, requestJson, dumpLogsOnFailure, startCluster, type TestCluster } from '../helpers/cluster.ts';

let cluster: TestCluster;

dumpLogsOnFailure(() => cluster);
let primary: string;

beforeAll(async () => {
  cluster = await startCluster({ services: ['control', 'primary', 'mirror'] });
  primary = cluster.url('primary');
});

afterAll(async () => {
  await cluster?.close();
});

function expectError(response: { status: number; body: any }, status: number, code: string) {
  expect(response.status).toBe(status);
  expect(response.body).toMatchObject({ error: code });
  expect(typeof response.body.message).toBe('string');
  expect(JSON.stringify(response.body)).not.toMatch(/at .*\.ts:\d+/);
}

describe('bad client input', () => {
  it('refuses bad keys with 400 bad_key', async () => {
    expectError(await putJson(`${primary}/kv/${'k'.repeat(257)}`, 1), 400, 'bad_key');
    expectError(await putJson(`${primary}/kv/bad%20key`, 1), 400, 'bad_key');
    expectError(await getJson(`${primary}/kv/bad*key`), 400, 'bad_key');
  });

  it('refuses bad ack levels and unknown query parameters with 400', async () => {
    expectError(await putJson(`${primary}/kv/k?ack=most`, 1), 400, 'bad_ack');
    expectError(await putJson(`${primary}/kv/k?ack=0`, 1), 400, 'bad_ack');
    expectError(await putJson(`${primary}/kv/k?ack=99`, 1), 400, 'bad_ack');
    expectError(await putJson(`${primary}/kv/k?acks=all`, 1), 400, 'bad_request');
    expectError(await getJson(`${primary}/kv/k?minLsn=-1`), 400, 'bad_request');
    expectError(await getJson(`${primary}/kv?limit=100000`), 400, 'bad_request');
  });

  it('refuses malformed JSON and empty bodies with 400 bad_body', async () => {
    expectError(await putJson(`${primary}/kv/k`, undefined, { rawBody: '{"open": ' }), 400, 'bad_body');
    expectError(await requestJson('PUT', `${primary}/kv/k`), 400, 'bad_body');
  });

  it('refuses a value over 1 MiB with 413 and keeps a value just under it', async () => {
    expectError(await putJson(`${primary}/kv/big`, 'x'.repeat(1024 * 1024 + 10)), 413, 'too_large');
    const ok = await putJson(`${primary}/kv/big?ack=local`, 'x'.repeat(1024 * 1024 - 100));
    expect(ok.status).toBe(200);
  });

  it('answers 405 for a wrong method and 404 JSON for an unknown route or key', async () => {
    expectError(await postJson(`${primary}/kv/k`, 1), 405, 'method_not_allowed');
    expectError(await getJson(`${primary}/nowhere`), 404, 'not_found');
    expectError(await getJson(`${primary}/kv/never-written`), 404, 'not_found');
  });

  it('lost nothing: after all that, writes and reads still work and earlier data is intact', async () => {
    const first = await putJson(`${primary}/kv/survivor`, { n: 1 });
    expect(first.status).toBe(200);
    expect((await getJson(`${primary}/kv/survivor`)).body.value).toEqual({ n: 1 });
    expect((await getJson(`${primary}/health`)).status).toBe(200);
  });
});

describe('internal routes need the cluster secret', () => {
  it('refuses a missing or wrong secret with 401', async () => {
    expectError(await getJson(`${primary}/internal/digest`), 401, 'unauthorized');
    expectError(await getJson(`${primary}/internal/digest`, { headers: { authorization: 'Bearer wrong-secret', 'x-mirrorlab-node': 'mirror' } }), 401, 'unauthorized');
    expectError(await getJson(`${cluster.url('mirror')}/internal/mirror/position`, { headers: { authorization: `Bearer ${cluster.plan.secret}` } }), 401, 'unauthorized');
    const ok = await getJson(`${primary}/internal/digest`, { headers: { authorization: `Bearer ${cluster.plan.secret}`, 'x-mirrorlab-node': 'control' } });
    expect(ok.status).toBe(200);
  });
});
