import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { BackendName, PresetName } from '../../core/src/config/index.ts';
import { generatedManifest, generatedMeta } from '../scripts/generate-meta.ts';

const root = path.resolve(import.meta.dirname, '..');
const regenerate = 'regenerate with `npm run generate-meta -w keypoints-vscode`';

test('src/generated-meta.ts is what core\'s presets and backends generate', () => {
  assert.equal(readFileSync(path.join(root, 'src', 'generated-meta.ts'), 'utf8'), generatedMeta(), regenerate);
});

test('the manifest offers every preset (pretrained included) and backend core knows', () => {
  const text = readFileSync(path.join(root, 'package.json'), 'utf8');
  assert.equal(text, generatedManifest(text), regenerate);
  const props = JSON.parse(text).contributes.configuration.properties;
  assert.deepEqual(props['keypoints.preset'].enum, [...PresetName.options]);
  assert.ok(props['keypoints.preset'].enum.includes('pretrained'));
  assert.deepEqual(props['keypoints.backend'].enum, [...BackendName.options]);
  assert.ok(PresetName.options.includes(props['keypoints.preset'].default));
});
