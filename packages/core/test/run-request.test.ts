import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { InputError, UserError } from '../src/errors.ts';
import { runFolderName, trainRequest, trainTargetOf } from '../src/train/run.ts';

describe('training requests (the rule the CLI and the server share)', () => {
  it('resume with other settings is refused, naming them as the caller does', () => {
    assert.throws(
      () => trainRequest({ resume: 'runs/a', resumeName: '--resume', given: ['--epochs', '--no-flip'] }, () => ({})),
      (e: Error) => e instanceof UserError && /^--resume continues runs\/a with the settings saved in its config\.json; --epochs, --no-flip cannot be combined with it/.test(e.message),
    );
    assert.deepEqual(trainRequest({ resume: 'runs/a', resumeName: 'resume', given: [] }, () => assert.fail('not a new run')), { resume: 'runs/a' });
  });

  it('a new run resolves its settings and gets a folder named by time and preset', async () => {
    const req = trainRequest({ resumeName: '--resume', given: ['--epochs'] }, () => ({ settings: { preset: 'tiny', train: { epochs: 3 } }, runsFolder: 'here' }));
    const t = await trainTargetOf(req);
    assert.ok(!t.resume && t.config.train.epochs === 3 && t.config.preset === 'tiny');
    assert.match(t.runDir, /^here[\\/]\d{8}-\d{6}-tiny$/);
    assert.equal(runFolderName('seed', new Date('2026-12-03T10:15:00.123Z')), '20261203-101500-seed');
  });

  it('settings override the config file; a bad file is named in one line', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kp-req-'));
    const file = path.join(dir, 'a.keypoints.json');
    writeFileSync(file, JSON.stringify({ preset: 'seed', train: { epochs: 7, batchSize: 8 } }));
    const t = await trainTargetOf({ configFile: file, settings: { train: { epochs: 2 } }, runDir: 'x' });
    assert.ok(!t.resume && t.config.train.epochs === 2 && t.config.train.batchSize === 8 && t.config.preset === 'seed');
    writeFileSync(file, '{ nope');
    await assert.rejects(trainTargetOf({ configFile: file }), (e: Error) => e instanceof InputError && e.message.startsWith(file) && /not valid JSON/.test(e.message));
    await assert.rejects(trainTargetOf({ configFile: path.join(dir, 'missing.json') }), (e: Error) => e instanceof InputError && /cannot read the config file/.test(e.message));
  });

  it('resume trains the folder with its own saved config', async () => {
    assert.deepEqual(await trainTargetOf({ resume: 'runs/b' }), { runDir: 'runs/b', resume: true });
  });
});
