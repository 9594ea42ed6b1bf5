import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfig } from '../packages/core/src/config/index.ts';

test('config: presets resolve and unknown keys are rejected', () => {
  assert.equal(resolveConfig({ preset: 'seed' }).model.dense.length, 2);
  assert.throws(() => resolveConfig({ train: { optimzer: 'adam' } }), /field "train\.optimzer": unknown key; did you mean "train\.optimizer"\?/);
});
