import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { errorMessage, formatDuration, statusText, withBackend } from '../src/format.ts';

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
  const sources = ['src/commands.ts', 'src/extension.ts', 'src/experiments.ts'].map((f) => readFileSync(path.join(dir, f), 'utf8')).join('\n');
  const registered = [...sources.matchAll(/(?:reg|registerCommand)\('([\w.]+)'/g)].map((m) => m[1]);
  assert.ok(registered.length >= 8);
  for (const id of registered) assert.ok(declared.has(id), `${id} is registered but not in package.json`);
  for (const id of declared) assert.ok(registered.includes(id as string), `${id} is in package.json but never registered`);
  for (const items of Object.values(manifest.contributes.menus) as Array<Array<{ command: string }>>) for (const m of items) assert.ok(declared.has(m.command), m.command);
  assert.equal(manifest.contributes.jsonValidation[0].url, './dist/keypoints.schema.json');
  assert.deepEqual(manifest.contributes.jsonValidation[1], { fileMatch: '*.sweep.json', url: './dist/sweep.schema.json' });
  // Compare Runs works on the Runs view's items (runs and sweeps), several at once.
  assert.match(manifest.contributes.menus['view/item/context'].find((m: { command: string }) => m.command === 'keypoints.compareRuns').when, /viewItem/);
});

test('the manifest: activation only where there is work, Stop only while training, capabilities, walkthrough files present', () => {
  const dir = path.resolve(import.meta.dirname, '..');
  const m = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  assert.ok(!m.activationEvents.includes('onStartupFinished') && !m.activationEvents.includes('*'), m.activationEvents.join(', '));
  assert.ok(m.activationEvents.includes('workspaceContains:**/*.keypoints.json'));
  const stopWhens = [...m.contributes.menus.commandPalette, ...m.contributes.menus['view/title'], ...m.contributes.keybindings].filter((x: { command: string }) => x.command === 'keypoints.stop');
  assert.ok(stopWhens.length >= 3);
  for (const x of stopWhens) assert.match(x.when, /keypoints\.training/);
  assert.equal(m.capabilities.virtualWorkspaces.supported, false);
  assert.equal(m.capabilities.untrustedWorkspaces.supported, 'limited');
  assert.ok(m.capabilities.untrustedWorkspaces.description.length > 20);
  assert.match(m.repository.url, /^https:\/\/github\.com\//);
  assert.ok(m.keywords.length >= 5);
  assert.ok(existsSync(path.join(dir, m.icon)), m.icon);
  assert.ok(existsSync(path.join(dir, 'CHANGELOG.md')));
  const steps = m.contributes.walkthroughs[0].steps as Array<{ id: string; media: { image?: string; markdown?: string } }>;
  assert.deepEqual(steps.map((s) => s.id).slice(0, 3), ['dataset', 'train', 'predict']);
  // Images come from the docs' pictures (copied by the build); markdown media are committed.
  for (const s of steps) {
    if (s.media.markdown) assert.ok(existsSync(path.join(dir, s.media.markdown)), s.media.markdown);
    if (s.media.image) assert.ok(existsSync(path.join(dir, '../../apps/docs/public', s.media.image)), s.media.image);
  }
  assert.ok(m.contributes.viewsWelcome.some((v: { view: string }) => v.view === 'keypoints.runs'));
});

test('the status bar names the backend in use, its note in the tooltip', () => {
  const st = withBackend(statusText({ kind: 'idle' }), { name: 'webgpu', note: 'webgpu (NVIDIA H200, vendor nvidia)' });
  assert.equal(st.text, '$(pulse) Keypoints · webgpu');
  assert.match(st.tooltip, /\nBackend: webgpu \(NVIDIA H200/);
  assert.deepEqual(withBackend(statusText({ kind: 'idle' })), statusText({ kind: 'idle' }));
});

test('an error line: the message of an Error, else the thrown value as text', () => {
  assert.equal(errorMessage(new Error('no such run folder')), 'no such run folder');
  assert.equal(errorMessage('stopped'), 'stopped');
  assert.equal(errorMessage(undefined), 'undefined');
});
