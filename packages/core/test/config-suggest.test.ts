// Did-you-mean for misspelt config keys: the closest valid key at the same place in the schema.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveConfig } from '../src/config/resolve.js';
import { closest, editDistance, keysAt } from '../src/config/suggest.js';
import { KeypointsConfig } from '../src/config/schema.js';

const message = (user: unknown): string => {
  try {
    resolveConfig(user, 'x.keypoints.json');
  } catch (err) {
    return (err as Error).message;
  }
  assert.fail('expected a config error');
};

test('edit distance counts a swap of neighbours as one edit', () => {
  assert.equal(editDistance('trian', 'train'), 1);
  assert.equal(editDistance('epochz', 'epochs'), 1);
  assert.equal(editDistance('', 'abc'), 3);
});

test('closest suggests only what looks like a typo', () => {
  assert.equal(closest('batchsize', ['epochs', 'batchSize']), 'batchSize');
  assert.equal(closest('xyzzyq', ['epochs', 'batchSize']), undefined);
});

test('keysAt walks nested objects and arrays of the schema', () => {
  assert.ok(keysAt(KeypointsConfig, ['train']).includes('epochs'));
  assert.ok(keysAt(KeypointsConfig, ['train', 'schedule']).length > 0);
  assert.ok(keysAt(KeypointsConfig, []).includes('preset'));
});

test('a misspelt key gets a did-you-mean naming its full path', () => {
  assert.match(message({ train: { epochz: 3 } }), /field "train\.epochz": unknown key; did you mean "train\.epochs"\?/);
  assert.match(message({ trian: { epochs: 3 } }), /field "trian": unknown key; did you mean "train"\?/);
});

test('a key far from every valid one lists the valid keys instead', () => {
  const m = message({ train: { xyzzyq: 1 } });
  assert.match(m, /field "train\.xyzzyq": unknown key \(valid here: .*epochs/);
  assert.doesNotMatch(m, /did you mean/);
});
