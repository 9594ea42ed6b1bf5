import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { formatDuration, statusText, withBackend } from '../src/format.ts';

test('durations read naturally', () => {
  assert.equal(formatDuration(42.4), '42s');
  assert.equal(formatDuration(125), '2m05s');
  assert.equal(formatDuration(3 * 3600 + 7 * 60), '3h07m');
  assert.equal(formatDuration(NaN), '?');
});

test('status bar texts for each trainer state', () => {
  assert.equal(statusText({ kind: 'training', epoch: 3, epochs: 20, etaSeconds: 95 }).text, '$(sync~spin) Keypoints: epoch 3/20 · ETA 1m35s');
  assert.equal(statusText({ kind: 'idle', lastRmse: 2.345 }).text, '$(pulse) Keypoints: 2.35 px');
  assert.match(statusText({ kind: 'error', message: 'boom' }).tooltip, /boom/);
});

test('the manifest contributes every command the code registers, and the menus use existing commands', () => {
  const dir = path.resolve(import.meta.dirname, '..');
  const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const declared = new Set(manifest.contributes.commands.map((c: { command: string }) => c.command));
  const registered = [...readFileSync(path.join(dir, 'src/commands.ts'), 'utf8').matchAll(/reg\('([\w.]+)'/g)].map((m) => m[1]);
  assert.ok(registered.length >= 8);
  for (const id of registered) assert.ok(declared.has(id), `${id} is registered but not in package.json`);
  for (const id of declared) assert.ok(registered.includes(id as string), `${id} is in package.json but never registered`);
  for (const items of Object.values(manifest.contributes.menus) as Array<Array<{ command: string }>>) for (const m of items) assert.ok(declared.has(m.command), m.command);
  assert.equal(manifest.contributes.jsonValidation[0].url, './dist/keypoints.schema.json');
});

test('the status bar names the backend in use, its note in the tooltip', () => {
  const st = withBackend(statusText({ kind: 'idle' }), { name: 'webgpu', note: 'webgpu (NVIDIA H200, vendor nvidia)' });
  assert.equal(st.text, '$(pulse) Keypoints · webgpu');
  assert.match(st.tooltip, /\nBackend: webgpu \(NVIDIA H200/);
  assert.deepEqual(withBackend(statusText({ kind: 'idle' })), statusText({ kind: 'idle' }));
});
