import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RequestType } from 'vscode-jsonrpc';
import * as P from '../src/protocol/index.ts';
import { checkParams, ParamSchemas } from '../src/protocol/params.ts';

test('every request the protocol declares has a params schema (none can skip validation)', () => {
  const requests = (Object.values(P) as unknown[]).filter((v): v is RequestType<unknown, unknown, unknown> => v instanceof RequestType);
  assert.ok(requests.length >= 9);
  for (const r of requests) assert.ok(ParamSchemas[r.method], `${r.method} has no schema in params.ts`);
  assert.deepEqual(Object.keys(ParamSchemas).sort(), requests.map((r) => r.method).sort());
});

test('checkParams passes good params through and names the field of bad ones', () => {
  assert.deepEqual(checkParams(P.Predict.method, { images: ['a.png'] }), { images: ['a.png'] });
  assert.deepEqual(checkParams(P.TrainStop.method, undefined), {});
  const bad = (method: string, params: unknown, field: RegExp) =>
    assert.throws(
      () => checkParams(method, params),
      (err: { code: number; message: string }) => err.code === P.ErrorCodes.invalidParams && field.test(err.message),
    );
  bad(P.Predict.method, { images: [] }, /params\.images/);
  bad(P.Predict.method, { images: ['a.png'], modle: 'x' }, /modle/); // misspelt keys are errors, not ignored
  bad(P.DatasetSamples.method, { path: 'x.csv', count: 1000 }, /params\.count/);
  bad(P.Initialize.method, { backend: 'gpu' }, /params\.backend/);
  bad(P.DatasetInfo.method, [], /params/);
});

test('error codes are distinct', () => {
  const codes = Object.values(P.ErrorCodes);
  assert.equal(new Set(codes).size, codes.length);
});

test('the protocol names the ready model as core opens it, and evaluate params check framing and pictures', async () => {
  const { READY_MODEL } = await import('../src/predict/ready.ts');
  assert.equal(P.READY_MODEL, READY_MODEL);
  assert.deepEqual(checkParams(P.Evaluate.method, { data: 'photos', framing: 'refined', pictures: false }), { data: 'photos', framing: 'refined', pictures: false });
  assert.throws(() => checkParams(P.Evaluate.method, { data: 'photos', framing: 'box' }), /params\.framing/);
});
