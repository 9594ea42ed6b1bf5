import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeImage, encodeJpeg, encodePng, grayToRgba, resizeGray, syntheticFaceSet, writeKaggleCsv } from '../packages/core/src/index.ts';

const CLI = path.resolve(import.meta.dirname, '../packages/cli/dist/keypoints.js');
const work = mkdtempSync(path.join(tmpdir(), 'kp-cli-'));

function kp(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? work, encoding: 'utf8', timeout: 120_000, env: opts.env ?? process.env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

// The model's weights.bin: a finished run's checkpoint keeps no copy of its own (it points there).
const weights = (dir: string) => new Float32Array(readFileSync(path.join(dir, 'weights.bin')).buffer.slice(0));
const jsonLines = (out: string) => out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; [k: string]: unknown });

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

describe('keypoints CLI as a process', () => {
  after(() => rmSync(work, { recursive: true, force: true }));
  before(async () => {
    assert.ok(existsSync(CLI), `build the CLI first (${CLI})`);
    await writeKaggleCsv(syntheticFaceSet({ count: 160, seed: 21 }), path.join(work, 'faces.csv.gz'));
    const faces = syntheticFaceSet({ count: 3, seed: 77 });
    const face = (i: number) => faces.pixels.subarray(i * 9216, (i + 1) * 9216);
    writeFileSync(path.join(work, 'face.png'), encodePng(grayToRgba(face(0), 96, 96)));
    // A JPEG of another size and shape, named .png: decoding goes by content.
    writeFileSync(path.join(work, 'wide-photo.png'), encodeJpeg(grayToRgba(resizeGray(face(1), 96, 96, 240, 160), 240, 160)));
    writeFileSync(path.join(work, 'test.csv'), 'ImageId,Image\n' + [0, 1].map((i) => `${i + 1},${Array.from(face(i), (v) => Math.round(v * 255)).join(' ')}`).join('\n') + '\n');
    writeFileSync(path.join(work, 'IdLookupTable.csv'), 'RowId,ImageId,FeatureName,Location\n1,1,left_eye_center_x,\n2,1,nose_tip_y,\n3,2,mouth_left_corner_x,\n');
  });

  test('bench measures one network in a process of its own (--measure-one prints its figures as JSON)', () => {
    const r = kp(['bench', '--measure-one', 'default:wasm', '--steps', '1']);
    assert.equal(r.code, 0, r.stderr);
    const m = JSON.parse(r.stdout.trim().split('\n').pop()!) as { network: string; backend: string; batch: number; trainImagesPerSec: number; inferImagesPerSec: number; predictMs: number; peakRssMB: number };
    assert.equal(m.network, 'default');
    assert.equal(m.backend, 'wasm');
    assert.equal(m.batch, 32);
    for (const k of ['trainImagesPerSec', 'inferImagesPerSec', 'predictMs', 'peakRssMB'] as const) assert.ok(m[k] > 0 && Number.isFinite(m[k]), `${k} = ${m[k]}`);
    // Each thread's idle time per step in the record: main and the SIMD worker (one thread on one core).
    const t = m as unknown as { stepMs: number; threadIdleMsPerStep: number[] };
    assert.ok(t.stepMs > 0, `stepMs = ${t.stepMs}`);
    assert.equal(t.threadIdleMsPerStep.length, availableParallelism() > 1 ? 2 : 1, JSON.stringify(t.threadIdleMsPerStep));
    for (const idle of t.threadIdleMsPerStep) assert.ok(idle >= 0 && idle <= t.stepMs, `idle ${idle} of ${t.stepMs} ms`);
  });

  test('backends lists each backend with why, in auto\'s order, and auto passes a software WebGPU adapter over; a bad bench backend is one line', () => {
    const r = kp(['backends', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as { backends: Array<{ name: string; available: boolean; auto: boolean; detail: string }>; auto: string | null };
    assert.deepEqual(j.backends.map((b) => b.name), ['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu']);
    for (const b of j.backends) assert.ok(b.detail.length > 5 && !b.detail.includes('\n'), `${b.name}: ${b.detail}`);
    const web = j.backends.find((b) => b.name === 'webgpu')!;
    if (/software/.test(web.detail)) assert.equal(web.auto, false, web.detail);
    assert.equal(j.auto, j.backends.find((b) => b.auto)?.name ?? null);
    const bad = kp(['bench', '--backends', 'webgpu@many', '--no-pytorch']);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /unknown backend 'webgpu@many'.*@<batch> or @gpu/);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
  });

  test('train --backend webgpu with no GPU driver: one line (no Vulkan loader warnings) saying what was found and what to install, and no run folder', () => {
    // The Vulkan loader (when installed) is pointed at a driver file that does not exist: it finds no driver.
    const r = kp(['train', '--data', 'faces.csv.gz', '--preset', 'tiny', '--epochs', '1', '--backend', 'webgpu', '--out', 'run-nogpu'], { env: { ...process.env, VK_ICD_FILENAMES: '/nonexistent/icd.json', VK_DRIVER_FILES: '', KEYPOINTS_WEBGPU_ALLOW_SOFTWARE: '' } });
    assert.equal(r.code, 2, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /^keypoints: Backend 'webgpu' is unavailable: (no WebGPU adapter: the Vulkan loader (is installed but found no GPU driver \(VK_ICD_FILENAMES\/VK_DRIVER_FILES point at \/nonexistent\/icd\.json\)|\(libvulkan\.so\.1\) is not installed)|webgpu \(Dawn\) not installed)\./);
    assert.match(lines[0]!, /libvulkan1|npm install webgpu/);
    assert.ok(lines[0]!.endsWith('Or use --backend wasm.'), lines[0]);
    assert.ok(!existsSync(path.join(work, 'run-nogpu')));
  });

  test('train on a CSV writes a complete run folder; --json prints one event per line', () => {
    const r = kp(['train', '--data', 'faces.csv.gz', '--preset', 'tiny', '--epochs', '2', '--out', 'run-a', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; [k: string]: unknown });
    assert.equal(events[0]!.type, 'start');
    assert.equal(events.filter((e) => e.type === 'epochEnd').length, 2);
    assert.equal(events.at(-1)!.type, 'done');
    const times = events.at(-1)!.timeBreakdownSeconds as Record<string, number>;
    assert.deepEqual(Object.keys(times).sort(), ['batch', 'other', 'save', 'step', 'validate']);
    for (const f of ['config.json', 'model.json', 'weights.bin', 'metrics.jsonl', 'summary.json', 'curves.html', 'curves.png', 'checkpoint/state.json']) {
      assert.ok(existsSync(path.join(work, 'run-a', f)), f);
    }
    const metrics = readFileSync(path.join(work, 'run-a', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(metrics.length, 2);
    for (const k of ['trainLoss', 'valLoss', 'valRmse', 'learningRate', 'seconds', 'imagesPerSecond']) assert.equal(typeof metrics[1][k], 'number', k);
    assert.equal(JSON.parse(readFileSync(path.join(work, 'run-a', 'config.json'), 'utf8')).data.path, 'faces.csv.gz');
    const png = decodeImage(readFileSync(path.join(work, 'run-a', 'curves.png')), 'curves.png');
    assert.ok(png.width >= 600 && png.height >= 400);
  });

  test('without --data it says it trains on synthetic faces; plain lines when not a TTY', () => {
    const r = kp(['train', '--preset', 'tiny', '--epochs', '1', '--out', 'run-syn']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /generated synthetic face set/);
    assert.match(r.stderr, /epoch 1\/1 .*val RMSE [\d.]+ px/);
    assert.match(r.stderr, /backend: wasm/);
    assert.match(r.stderr, /done \(completed\) after 1 epochs/);
    assert.match(r.stderr, /\ntime: steps \d+ %, batches \d+ %, validation \d+ %, saving \d+ %, other \d+ %\nrun folder: .*run-syn/);
    for (const f of ['config.json', 'model.json', 'weights.bin', 'metrics.jsonl', 'summary.json', 'curves.html', 'curves.png', 'checkpoint']) assert.ok(existsSync(path.join(work, 'run-syn', f)), f);
    assert.equal(JSON.parse(readFileSync(path.join(work, 'run-syn', 'config.json'), 'utf8')).data.path, undefined);
  });

  test('a run killed after its first checkpoint resumes to exactly the uninterrupted result', async () => {
    const args = ['train', '--data', 'faces.csv.gz', '--preset', 'tiny', '--epochs', '3', '--json'];
    assert.equal(kp([...args, '--out', 'run-full']).code, 0);
    // Start the same run and kill -9 it as soon as epoch 1's checkpoint is on disk.
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, ...args, '--out', 'run-killed'], { cwd: work });
      let buf = '';
      child.stdout.on('data', (d: Buffer) => {
        buf += d;
        if (buf.includes('"type":"checkpoint"')) child.kill('SIGKILL');
      });
      child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`run ended by itself (${code}) before it could be killed`))));
    });
    const state = JSON.parse(readFileSync(path.join(work, 'run-killed', 'checkpoint', 'state.json'), 'utf8'));
    assert.ok(state.epoch >= 1 && state.epoch < 3);
    const r = kp(['train', '--resume', 'run-killed', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const d = maxDiff(weights(path.join(work, 'run-full')), weights(path.join(work, 'run-killed')));
    assert.ok(d < 1e-5, `weights differ by ${d}`);
    const lastVal = (d: string) => JSON.parse(readFileSync(path.join(work, d, 'metrics.jsonl'), 'utf8').trim().split('\n').at(-1)!).valLoss;
    assert.ok(Math.abs(lastVal('run-full') - lastVal('run-killed')) < 1e-6);
  });

  test('Ctrl-C (SIGINT) mid-epoch: checkpoint saved, exit 130; --resume then equals the uninterrupted run', async () => {
    const args = ['train', '--data', 'faces.csv.gz', '--preset', 'tiny', '--epochs', '3', '--json', '--out', 'run-int'];
    const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = spawn(process.execPath, [CLI, ...args], { cwd: work });
      let buf = '', sent = false;
      child.stdout.on('data', (d: Buffer) => {
        buf += d;
        // Interrupt inside epoch 2 (batch events are throttled, so at whichever batch is reported first).
        const lines = buf.split('\n').slice(0, -1).map((l) => JSON.parse(l) as { type: string; epoch?: number });
        if (!sent && lines.some((e) => e.type === 'batchEnd' && e.epoch === 2)) {
          sent = true;
          child.kill('SIGINT');
        }
      });
      child.on('exit', (c) => resolve({ code: c, stdout: buf }));
    });
    assert.equal(code, 130, stdout.slice(-500));
    const events = jsonLines(stdout);
    const done = events.at(-1)!;
    assert.equal(done.type, 'done');
    assert.equal(done.reason, 'stopped');
    assert.ok(events.some((e) => e.type === 'checkpoint' && e.epoch === 1));
    const state = JSON.parse(readFileSync(path.join(work, 'run-int', 'checkpoint', 'state.json'), 'utf8'));
    assert.ok(state.epoch >= 1 && state.epoch < 3, `checkpoint at epoch ${state.epoch}, batch ${state.batch}`);
    assert.ok(existsSync(path.join(work, 'run-int', 'model.json')));

    const r = kp(['train', '--resume', 'run-int', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(jsonLines(r.stdout).find((e) => e.type === 'start')!.startEpoch, state.epoch + 1);
    const d = maxDiff(weights(path.join(work, 'run-full')), weights(path.join(work, 'run-int')));
    assert.ok(d < 1e-5, `weights differ by ${d}`);
  });

  test('--resume takes the run\'s saved settings: other settings flags are refused', () => {
    const r = kp(['train', '--resume', 'run-a', '--epochs', '9', '--no-flip']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^keypoints: --resume continues run-a with the settings saved in its config\.json; --epochs, --no-flip cannot be combined with it/);
  });

  test('a failure during training is reported exactly once: text on stderr; --json one error event on stdout and the text once on stderr', () => {
    const text = kp(['train', '--data', 'no-such-faces.csv', '--preset', 'tiny', '--epochs', '1', '--out', 'run-fail']);
    assert.notEqual(text.code, 0);
    assert.equal(text.stderr.match(/no-such-faces\.csv/g)?.length, 1, text.stderr);
    const json = kp(['train', '--data', 'no-such-faces.csv', '--preset', 'tiny', '--epochs', '1', '--out', 'run-fail-json', '--json']);
    assert.equal(json.code, text.code);
    const errors = jsonLines(json.stdout).filter((e) => e.type === 'error');
    assert.equal(errors.length, 1, json.stdout);
    assert.match(String(errors[0]!.message), /no-such-faces\.csv/);
    assert.ok(['user', 'input'].includes(String(errors[0]!.code)), String(errors[0]!.code));
    assert.equal(json.stderr.match(/no-such-faces\.csv/g)?.length, 1, json.stderr);
  });

  test('an existing run folder is never overwritten', () => {
    const r = kp(['train', '--preset', 'tiny', '--epochs', '1', '--out', 'run-a']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /already holds a run; resume it with --resume/);
    assert.ok(existsSync(path.join(work, 'run-a', 'model.json')));
  });

  test('--out into a folder with a run\'s config.json and summary.json but no model: refused, both files untouched', () => {
    // A run killed or failed before its first epoch leaves these two (issue 14: a new run overwrote them).
    const dir = path.join(work, 'run-half'), files = { 'config.json': '{"preset":"seed"}\n', 'summary.json': '{"reason":"error"}\n' };
    mkdirSync(dir);
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
    const r = kp(['train', '--preset', 'tiny', '--epochs', '1', '--out', 'run-half']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /already holds a run; resume it with --resume run-half, or choose another --out \(it has config\.json, summary\.json\)/);
    for (const [name, text] of Object.entries(files)) assert.equal(readFileSync(path.join(dir, name), 'utf8'), text, name);
  });

  test('evaluate: exit 0 under the gate, 4 over it; --json has rmse and per-keypoint figures', () => {
    const ok = kp(['evaluate', '--model', 'run-a', '--data', 'faces.csv.gz', '--max-rmse', '1000', '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    const j = JSON.parse(ok.stdout);
    assert.ok(j.rmse > 0 && j.rmse < 1000);
    assert.equal(Object.keys(j.perKeypoint).length, 15);
    assert.equal(j.passed, true);
    // NME per keypoint and overall, the CED and the worst faces; the pictures land in the run folder.
    assert.ok(j.nme > 0 && j.perKeypoint.nose_tip.nme > 0);
    assert.equal(j.ced.fractions.length, 51);
    assert.equal(j.worst.length, 16);
    assert.deepEqual(Object.values(j.pictures).map((f) => path.relative(work, f as string)), ['run-a/per-keypoint.png', 'run-a/ced.png', 'run-a/worst.png']);
    for (const f of Object.values(j.pictures) as string[]) assert.ok(existsSync(f));
    const text = kp(['evaluate', '--model', 'run-a', '--data', 'faces.csv.gz', '--out', 'pics']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /RMSE [\d.]+ px, NME [\d.]+ % over \d+ faces \(normalised by [a-z, -]+\d+\)/);
    assert.match(text.stdout, /pictures: pics\/per-keypoint\.png, pics\/ced\.png, pics\/worst\.png/);
    const fail = kp(['evaluate', '--model', 'run-a', '--data', 'faces.csv.gz', '--max-rmse', '0.001']);
    assert.equal(fail.code, 4);
    assert.match(fail.stdout, /FAILED: [\d.]+ > 0.001 px/);
    const failJson = kp(['evaluate', '--model', 'run-a', '--data', 'faces.csv.gz', '--max-rmse', '0.001', '--json']);
    assert.equal(failJson.code, 4);
    assert.equal(JSON.parse(failJson.stdout).passed, false);
  });

  test('train --specialists --init RUN_DIR: one run folder of group runs that evaluate scores per keypoint like any model; --init RUN_DIR alone is refused', () => {
    const r = kp(['train', '--data', 'faces.csv.gz', '--preset', 'tiny', '--epochs', '1', '--specialists', '--init', 'run-a', '--out', 'run-spec']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout + r.stderr, /specialist 6 of 6: lips/);
    assert.ok(existsSync(path.join(work, 'run-spec', 'specialists.json')));
    const ev = kp(['evaluate', '--model', 'run-spec', '--data', 'faces.csv.gz', '--json']);
    assert.equal(ev.code, 0, ev.stderr);
    const j = JSON.parse(ev.stdout);
    assert.equal(Object.keys(j.perKeypoint).length, 15);
    for (const v of Object.values(j.perKeypoint) as Array<{ rmse: number }>) assert.ok(v.rmse > 0 && v.rmse < 96);
    const alone = kp(['train', '--data', 'faces.csv.gz', '--preset', 'tiny', '--init', 'run-a', '--out', 'run-x']);
    assert.notEqual(alone.code, 0);
    assert.match(alone.stderr, /--init run-a: a run folder starts specialists \(add --specialists\)/);
    assert.ok(!existsSync(path.join(work, 'run-x')));
  });

  test('evaluate on data whose keypoints differ from the model\'s: exit 3, both sets named', () => {
    writeFileSync(path.join(work, 'two-points.csv'), 'nose_tip_x,nose_tip_y,chin_x,chin_y,Image\n40,50,48,90,' + Array(9216).fill(9).join(' ') + '\n');
    const r = kp(['evaluate', '--model', 'run-a', '--data', 'two-points.csv']);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /two-points\.csv: its keypoints do not match the model's/);
    assert.match(r.stderr, /model \(15\): left_eye_center, /);
    assert.match(r.stderr, /data \(2\): nose_tip, chin/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  test('predict on a PNG and on a JPEG of another size, with overlays', () => {
    // The synthetic faces are drawn shapes, not faces a detector knows: the whole image is the face here
    // (face detection on real photos is tested in detect.test.ts).
    const r = kp(['predict', '--model', 'run-a', 'face.png', 'wide-photo.png', '--overlay', 'overlays', '--json', '--detect', 'off']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 2);
    assert.equal(lines[1].width, 240);
    assert.equal(lines[1].height, 160);
    assert.equal(lines[1].faces[0].keypoints.length, 15);
    for (const k of lines[1].faces[0].keypoints) assert.ok(Number.isFinite(k.x) && Number.isFinite(k.y));
    for (const f of ['face.keypoints.png', 'wide-photo.keypoints.png']) {
      const img = decodeImage(readFileSync(path.join(work, 'overlays', f)), f);
      assert.ok(img.width >= 480);
    }
    // Keypoints come back in the wide image's own pixels, not the 96 px input's.
    assert.ok(lines[1].faces[0].keypoints.some((k: { x: number }) => k.x > 96));
    // One image and a .png path: the overlay is written to that file.
    const one = kp(['predict', '--model', 'run-a', 'wide-photo.png', '--overlay', 'single.png', '--detect', 'off']);
    assert.equal(one.code, 0, one.stderr);
    assert.equal(JSON.parse(one.stdout).file, 'wide-photo.png');
    assert.deepEqual(decodeImage(readFileSync(path.join(work, 'single.png')), 'single.png').width, 720);
    // A folder stands for the images in it.
    const folder = kp(['predict', '--model', 'run-a', 'overlays', '--json', '--detect', 'off']);
    assert.equal(folder.code, 0, folder.stderr);
    assert.deepEqual(folder.stdout.trim().split('\n').map((l) => JSON.parse(l).file), [path.join('overlays', 'face.keypoints.png'), path.join('overlays', 'wide-photo.keypoints.png')]);
  });

  test("predict on Kaggle's test.csv: one JSON line per ImageId; bad inputs exit 3", () => {
    const r = kp(['predict', '--model', 'run-a', 'test.csv', '--overlay', 'test-overlays', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => l.imageId), [1, 2]);
    assert.equal(lines[0].keypoints.length, 15);
    assert.deepEqual(readdirSync(path.join(work, 'test-overlays')).sort(), ['test-1.keypoints.png', 'test-2.keypoints.png']);
    const missing = kp(['predict', '--model', 'run-a', 'no-such.png']);
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /^keypoints: no-such\.png: no such file\n$/);
    writeFileSync(path.join(work, 'not-an-image.jpg'), 'hello');
    const junk = kp(['predict', '--model', 'run-a', 'not-an-image.jpg']);
    assert.equal(junk.code, 3);
    assert.match(junk.stderr, /not-an-image\.jpg/);
  });

  test('submit writes Kaggle RowId,Location rows', () => {
    const r = kp(['submit', '--model', 'run-a', '--data', 'test.csv', '--lookup', 'IdLookupTable.csv', '--out', 'submission.csv']);
    assert.equal(r.code, 0, r.stderr);
    const lines = readFileSync(path.join(work, 'submission.csv'), 'utf8').trim().split('\n');
    assert.equal(lines[0], 'RowId,Location');
    assert.equal(lines.length, 4);
    for (const l of lines.slice(1)) {
      const v = Number(l.split(',')[1]);
      assert.ok(v >= 0 && v <= 96);
    }
  });

  test('a malformed CSV: exit 3, the file, row and field named, no stack trace', () => {
    writeFileSync(path.join(work, 'bad.csv'), 'a_x,a_y,Image\n1,2,' + '7 '.repeat(16) + '\n1,oops,' + '7 '.repeat(16) + '\n');
    const r = kp(['train', '--data', 'bad.csv', '--preset', 'tiny', '--out', 'run-bad']);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /bad\.csv, row 3, field "a_y": "oops" is not a number/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.ok(!existsSync(path.join(work, 'run-bad', 'model.json')));
  });

  test('bad flags and configs exit 2 with a message', () => {
    const r = kp(['train', '--epochs', 'many']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--epochs must be a whole number/);
    writeFileSync(path.join(work, 'bad.keypoints.json'), JSON.stringify({ train: { optimzer: 'adam' } }));
    const c = kp(['train', '--config', 'bad.keypoints.json']);
    assert.equal(c.code, 2);
    assert.match(c.stderr, /bad\.keypoints\.json: invalid settings\n\s+field "train\.optimzer": unknown key; did you mean "train\.optimizer"\?/);
  });
});
