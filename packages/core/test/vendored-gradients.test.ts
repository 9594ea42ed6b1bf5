import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { TFJS_CORE_VERSION } from '../src/backend/vendor/tfjs-core-gradients.js';

test('the vendored gradients were generated from the installed tfjs-core', () => {
  assert.equal(TFJS_CORE_VERSION, tf.version_core, 'regenerate them: node src/backend/vendor/build-gradients.mjs');
});
