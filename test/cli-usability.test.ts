// The CLI's discoverability as a process: examples in --help, the resolved config without training,
// did-you-mean for config keys, shell completion, submit --json, and the newest run when --model is left out.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { encodePng, grayToRgba, syntheticFaceSet, writeKaggleCsv } from '../packages/core/src/index.ts';

const CLI = path.resolve(import.meta.dirname, '../packages/cli/dist/keypoints.js');
const work = mkdtempSync(path.join(tmpdir(), 'kp-cli-use-'));

function kp(args: string[], cwd = work, env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('keypoints CLI: help, config, completion, defaults for --model', () => {
  after(() => rmSync(work, { recursive: true, force: true }));
  before(async () => {
    assert.ok(existsSync(CLI), `build the CLI first (${CLI})`);
    const faces = syntheticFaceSet({ count: 96, seed: 5 });
    await writeKaggleCsv(faces, path.join(work, 'faces.csv.gz'));
    writeFileSync(path.join(work, 'face.png'), encodePng(grayToRgba(faces.pixels.subarray(0, 9216), 96, 96)));
    writeFileSync(path.join(work, 'test.csv'), 'ImageId,Image\n1,' + Array.from(faces.pixels.subarray(0, 9216), (v) => Math.round(v * 255)).join(' ') + '\n');
    writeFileSync(path.join(work, 'IdLookupTable.csv'), 'RowId,ImageId,FeatureName,Location\n1,1,left_eye_center_x,\n2,1,nose_tip_y,\n');
  });

  test('every command\'s --help ends with an example of that command', () => {
    const top = kp(['--help']).stdout;
    const commands = [...top.matchAll(/^ {2}([a-z]+) /gm)].map((m) => m[1]!).filter((c) => c !== 'help');
    assert.ok(commands.includes('train') && commands.includes('completion') && commands.includes('config'), top);
    for (const c of commands) {
      const r = kp([c, '--help']);
      assert.equal(r.code, 0, `${c}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`Example:\\n {2}\\$ .*keypoints ${c}\\b`), `${c} --help has no example`);
    }
  });

  test('config prints the resolved config as JSON without training; the preset flag and the file both count', () => {
    writeFileSync(path.join(work, 'mine.keypoints.json'), JSON.stringify({ preset: 'seed', train: { epochs: 7 } }));
    const r = kp(['config', '--config', 'mine.keypoints.json', '--preset', 'tiny']);
    assert.equal(r.code, 0, r.stderr);
    const c = JSON.parse(r.stdout) as { preset: string; train: { epochs: number; batchSize: number } };
    assert.equal(c.preset, 'tiny');
    assert.equal(c.train.epochs, 7);
    assert.ok(c.train.batchSize > 0, 'defaults are filled in');
    assert.ok(!existsSync(path.join(work, 'runs')), 'nothing was trained');
  });

  test('train --help shows the default preset\'s values', () => {
    const r = kp(['train', '--help']);
    for (const re of [/--epochs <n> +epochs to train .*\(default preset: 60\)/, /--lr <rate> +peak learning rate \(default preset: 0\.002\)/, /--batch-size <n> +images per step \(default preset: 32\)/, /--dry-run/]) {
      assert.match(r.stdout.replace(/\n\s+/g, ' '), re);
    }
  });

  test('train --dry-run prints the resolved config and the plan, trains nothing and writes nothing', () => {
    const r = kp(['train', '--dry-run', '--data', 'faces.csv.gz', '--preset', 'tiny', '--epochs', '4', '--batch-size', '16', '--validation', '16', '--out', 'dry']);
    assert.equal(r.code, 0, r.stderr);
    const config = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'), r.stdout.indexOf('\n}\n') + 2)) as { preset: string; train: { epochs: number } };
    assert.equal(config.preset, 'tiny');
    assert.equal(config.train.epochs, 4);
    // 96 rows, 16 for validation: 80 train rows in 5 steps of 16.
    assert.match(r.stdout, /faces\.csv\.gz: 80 train \/ 16 validation rows, 15 keypoints, 96×96 px/);
    assert.match(r.stdout, /4 epochs × 5 steps of 16 images = 20 steps/);
    assert.match(r.stdout, /preset tiny: 4 epochs, batch 16, adam lr /);
    assert.ok(!existsSync(path.join(work, 'dry')), 'no run folder');
    const j = kp(['train', '--dry-run', '--json', '--data', 'faces.csv.gz', '--preset', 'tiny', '--epochs', '4', '--batch-size', '16', '--validation', '16']);
    const p = JSON.parse(j.stdout) as { type: string; totalSteps: number; data: { trainCount: number } };
    assert.deepEqual([p.type, p.totalSteps, p.data.trainCount], ['dryRun', 20, 80]);
  });

  test('a misspelt config key: exit 2, the file, the key and a did-you-mean', () => {
    writeFileSync(path.join(work, 'typo.keypoints.json'), JSON.stringify({ train: { epochz: 3 } }));
    const r = kp(['config', '--config', 'typo.keypoints.json']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /typo\.keypoints\.json: invalid settings\n\s+field "train\.epochz": unknown key; did you mean "train\.epochs"\?/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });

  test('colour: FORCE_COLOR turns it on off a terminal, NO_COLOR keeps it off, plain by default when piped', () => {
    const esc = /\x1b\[/;
    const bad = ['config', '--config', 'missing.keypoints.json'];
    assert.match(kp(bad, work, { FORCE_COLOR: '1', NO_COLOR: '' }).stderr, esc);
    assert.doesNotMatch(kp(bad, work, { FORCE_COLOR: undefined, NO_COLOR: '1' }).stderr, esc);
    const plain = kp(bad, work, { FORCE_COLOR: undefined, NO_COLOR: undefined });
    assert.doesNotMatch(plain.stderr, esc);
    assert.match(plain.stderr, /^keypoints: missing\.keypoints\.json: cannot read the config file/);
  });

  test('--quiet (before or after the command): no start or epoch lines, only the result', () => {
    for (const args of [['--quiet', 'train'], ['train', '-q']]) {
      const out = path.join('quiet', args[0]!.replace(/-/g, ''));
      const r = kp([...args, '--data', 'faces.csv.gz', '--preset', 'tiny', '--epochs', '2', '--limit', '64', '--out', out], work, { NO_COLOR: '1' });
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /^epoch \d/m);
      assert.doesNotMatch(r.stderr, /^training on /m);
      assert.match(r.stderr, /^done \(completed\) after 2 epochs/m);
    }
    const loud = kp(['train', '--data', 'faces.csv.gz', '--preset', 'tiny', '--epochs', '1', '--limit', '64', '--out', 'quiet/loud'], work, { NO_COLOR: '1' });
    assert.match(loud.stderr, /^epoch 1\/1/m, 'without --quiet the epoch lines are there');
  });

  test('completion: bash and zsh scripts naming every command and their options; bash parses it', () => {
    const bash = kp(['completion', 'bash']);
    assert.equal(bash.code, 0, bash.stderr);
    assert.match(bash.stdout, /complete -o filenames -F _keypoints keypoints/);
    assert.match(bash.stdout, /train\) opts="[^"]*--preset/);
    assert.match(bash.stdout, /submit\) opts="[^"]*--json/);
    assert.equal(spawnSync('bash', ['-n'], { input: bash.stdout }).status, 0, 'bash -n');
    const zsh = kp(['completion', 'zsh']);
    assert.equal(zsh.code, 0, zsh.stderr);
    assert.match(zsh.stdout, /^#compdef keypoints/);
    assert.match(zsh.stdout, /compadd -- train evaluate predict submit/);
    assert.equal(kp(['completion', 'fish']).code, 2, 'an unknown shell is a usage error');
  });

  test('without --model: predict falls back to the ready model (face-api-68-calibrated) and says so when ./runs has no model, else uses the newest run, named; evaluate still wants a run', () => {
    const none = kp(['predict', 'face.png', '--detect', 'off']);
    assert.equal(none.code, 0, none.stderr);
    assert.match(none.stderr, /no run with a model under \.\/runs: face-api-68-calibrated answers/);
    const ready = JSON.parse(none.stdout) as { model: string; faces: Array<{ keypoints: unknown[] }> };
    assert.equal(ready.model, 'face-api-68-calibrated');
    assert.equal(ready.faces[0]!.keypoints.length, 15);
    const noRun = kp(['evaluate', '--data', 'faces.csv.gz']);
    assert.equal(noRun.code, 2, noRun.stderr);
    assert.match(noRun.stderr, /evaluate: no --model given and no run folder with a model\.json under \.\/runs/);

    for (const name of ['older', 'newer']) {
      const t = kp(['train', '--data', 'faces.csv.gz', '--preset', 'tiny', '--epochs', '1', '--limit', '64', '--out', path.join('runs', name), '--json']);
      assert.equal(t.code, 0, t.stderr);
    }
    mkdirSync(path.join(work, 'runs', 'not-a-run'), { recursive: true });
    const p = kp(['predict', 'face.png', '--detect', 'off']);
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stderr, /using the newest run: runs\/newer \(pass --model to choose another\)/);
    assert.equal((JSON.parse(p.stdout) as { faces: unknown[] }).faces.length, 1);
    assert.equal((JSON.parse(p.stdout) as { model: string }).model, path.join(work, 'runs', 'newer'));

    const e = kp(['evaluate', '--data', 'faces.csv.gz', '--json']);
    assert.equal(e.code, 0, e.stderr);
    assert.match(e.stderr, /using the newest run: runs\/newer/);
    assert.equal((JSON.parse(e.stdout) as { model: string }).model, path.join(work, 'runs', 'newer'));

    const s = kp(['submit', '--data', 'test.csv', '--lookup', 'IdLookupTable.csv', '--out', 'sub.csv', '--json']);
    assert.equal(s.code, 0, s.stderr);
    const out = JSON.parse(s.stdout) as { rows: number; out: string; model: string };
    assert.equal(out.rows, 2);
    assert.equal(out.out, 'sub.csv');
    assert.equal(out.model, path.join(work, 'runs', 'newer'));
    assert.equal(readFileSync(path.join(work, 'sub.csv'), 'utf8').trim().split('\n').length, 3);
  });
});
