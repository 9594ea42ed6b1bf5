import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createMessageConnection, ResponseError, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node.js';
import type { MessageConnection } from 'vscode-jsonrpc';
import { decodeImage, encodePng, grayToRgba, protocol as P, syntheticFaceSet, writeKaggleCsv } from '../packages/core/src/index.ts';
import type { TrainingEvent } from '../packages/core/src/index.ts';

const CLI = path.resolve(import.meta.dirname, '../packages/cli/dist/keypoints.js');
// The extension's dist/, copied outside the repository as an installed VSIX has it: nothing can
// come from node_modules by accident.
const EXT = path.join(mkdtempSync(path.join(tmpdir(), 'kp-ext-')), 'dist');
cpSync(path.resolve(import.meta.dirname, '../packages/vscode-extension/dist'), EXT, { recursive: true });
const PHOTOS = path.resolve(import.meta.dirname, '../../shared/data/faces96/photos');

// The same server twice: as the CLI runs it, and as the VS Code extension ships it (one bundle,
// runtime files beside it, found through the environment the extension sets).
const servers = [
  { name: 'keypoints serve --stdio', script: CLI, env: {} },
  {
    name: "the extension's bundled server",
    script: path.join(EXT, 'server.mjs'),
    env: {
      KEYPOINTS_WASM_DIR: path.join(EXT, 'assets'),
      KEYPOINTS_RESVG_WASM: path.join(EXT, 'assets', 'index_bg.wasm'),
      KEYPOINTS_FONT_DIR: path.join(EXT, 'assets'),
      KEYPOINTS_PLOTLY_JS: path.join(EXT, 'assets', 'plotly.min.js'),
      KEYPOINTS_FACE_DETECTOR_DIR: path.join(EXT, 'assets'),
      ELECTRON_RUN_AS_NODE: '1',
    },
  },
];

for (const server of servers) describe(`${server.name} (a real child process)`, () => {
  const work = mkdtempSync(path.join(tmpdir(), 'kp-server-'));
  let child: ChildProcessWithoutNullStreams;
  let conn: MessageConnection;
  const events: TrainingEvent[] = [];
  let stderr = '';
  let stdout = '';

  before(async () => {
    const set = syntheticFaceSet({ count: 96, seed: 8 });
    set.coords[0] = NaN; // one missing label
    await writeKaggleCsv(set, path.join(work, 'faces.csv'));
    writeFileSync(path.join(work, 'face.png'), encodePng(grayToRgba(set.pixels.subarray(0, 9216), 96, 96)));
    child = spawn(process.execPath, [server.script, 'serve', '--stdio'], { cwd: work, env: { ...process.env, ...server.env } });
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    conn = createMessageConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
    conn.onNotification(P.TrainEvent, (e) => events.push(e));
    conn.listen();
  });

  after(() => {
    conn.dispose();
    child.kill();
  });

  const waitFor = async (pred: () => boolean, what: string, ms = 60_000) => {
    const t0 = Date.now();
    while (!pred()) {
      if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}\nserver log:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  test('initialize reports version, backend and capabilities', async () => {
    const r = await conn.sendRequest(P.Initialize, { clientName: 'test', runsFolder: path.join(work, 'runs') });
    assert.equal(r.protocolVersion, P.PROTOCOL_VERSION);
    assert.equal(r.backend.name, 'wasm');
    // XNNPACK on one thread per core, from the files the server finds (beside the bundle for the extension).
    if (availableParallelism() >= 2) assert.match(r.backend.note ?? '', /2 threads/, r.backend.note);
    assert.ok(r.presets.includes('default'));
    assert.equal(r.capabilities.train, true);
  });

  test('predict before any training: the ready model (face-api-68-calibrated) answers and the result names it', async () => {
    const r = await conn.sendRequest(P.Predict, { images: [path.join(work, 'face.png')] });
    assert.equal(r.model, P.READY_MODEL);
    assert.equal(r.origin, 'ready');
    assert.equal(r.keypoints.length, 15);
    assert.equal(r.results[0]!.faces.length, 1, 'a 96×96 crop is one face');
    for (const k of r.results[0]!.faces[0]!.keypoints) assert.ok(k.x > 0 && k.x < 96 && k.y > 0 && k.y < 96, `${k.name} (${k.x}, ${k.y})`);
  });

  test('dataset/info counts rows and missing keypoints; dataset/samples returns PNG faces', async () => {
    const info = await conn.sendRequest(P.DatasetInfo, { path: path.join(work, 'faces.csv') });
    assert.equal(info.rows, 96);
    assert.equal(info.complete, 95);
    assert.equal(info.missing.left_eye_center, 1);
    const { samples } = await conn.sendRequest(P.DatasetSamples, { path: path.join(work, 'faces.csv'), count: 3 });
    assert.equal(samples.length, 3);
    assert.match(samples[0]!.image, /^data:image\/png;base64,iVBOR/);
    assert.equal(samples[0]!.keypoints.length, 14);
    assert.equal(samples[1]!.keypoints.length, 15);
  });

  test('train/start (tiny, synthetic faces) streams batch and epoch events; a second start is refused as busy; train/stop saves a checkpoint', async () => {
    const { runDir } = await conn.sendRequest(P.TrainStart, { config: { preset: 'tiny', data: { syntheticCount: 96 }, train: { epochs: 50 } } });
    assert.ok(runDir.startsWith(path.join(work, 'runs')));
    await waitFor(() => events.filter((e) => e.type === 'epochEnd').length >= 2, 'two epochEnd events');
    const start = events[0]!;
    assert.ok(start.type === 'start' && start.synthetic && start.runDir === runDir && start.epochs === 50);
    assert.ok(events.some((e) => e.type === 'batchEnd' && e.batches > 0 && e.etaSeconds >= 0));
    const epochs = events.filter((e) => e.type === 'epochEnd').map((e) => (e.type === 'epochEnd' ? e.epoch : 0));
    assert.deepEqual(epochs.slice(0, 2), [1, 2]);
    await assert.rejects(conn.sendRequest(P.TrainStart, { config: { preset: 'tiny' } }), (err: ResponseError<void>) => {
      assert.equal(err.code, P.ErrorCodes.busy);
      assert.match(err.message, /already training/);
      return true;
    });
    const status = await conn.sendRequest(P.TrainStatus, {});
    assert.equal(status.training, true);
    const stop = await conn.sendRequest(P.TrainStop, {});
    assert.equal(stop.stopped, true);
    const done = events.find((e) => e.type === 'done');
    assert.ok(done && done.type === 'done' && done.reason === 'stopped');
    assert.ok(existsSync(path.join(runDir, 'checkpoint', 'state.json')), 'stop leaves a checkpoint');
    assert.equal((await conn.sendRequest(P.TrainStatus, {})).training, false);
    assert.deepEqual(await conn.sendRequest(P.TrainStop, {}), { stopped: false });
    const { runs } = await conn.sendRequest(P.RunsList, {});
    assert.equal(runs[0]!.dir, runDir);
    assert.equal(runs[0]!.hasModel, true);

    // resume continues the same run folder from that checkpoint
    events.length = 0;
    assert.equal((await conn.sendRequest(P.TrainStart, { resume: runDir })).runDir, runDir);
    await waitFor(() => events.some((e) => e.type === 'batchEnd'), 'a batch of the resumed run');
    const resumed = events.find((e) => e.type === 'start');
    assert.ok(resumed && resumed.type === 'start' && resumed.startEpoch >= 3, `resumed at epoch ${resumed?.type === 'start' ? resumed.startEpoch : '?'}`);
    assert.equal((await conn.sendRequest(P.TrainStop, {})).stopped, true);
  });

  test('predict uses the newest model and returns keypoints in image pixels', async () => {
    const r = await conn.sendRequest(P.Predict, { images: [path.join(work, 'face.png')] });
    assert.equal(r.results.length, 1);
    assert.equal(r.results[0]!.faces[0]!.keypoints.length, 15);
    assert.equal(r.keypoints[0], 'left_eye_center');
    const face = r.results[0]!.faces[0]!.keypoints;
    assert.equal(face[0]!.name, 'left_eye_center');
    assert.ok(face.every((k) => k.x >= 0 && k.x <= 96 && k.y >= 0 && k.y <= 96), 'inside the 96×96 image');
  });

  test('predict on a photo with two faces returns both, with boxes, scores and keypoints in its pixels; a blank image returns none', { skip: existsSync(PHOTOS) ? false : `no faces96 photos at ${PHOTOS}` }, async () => {
    const a = decodeImage(readFileSync(path.join(PHOTOS, 'Ahmed_Ahmed_42.png')), 'a'), b = decodeImage(readFileSync(path.join(PHOTOS, 'Alejandro_Toledo_51.png')), 'b');
    const W = a.width + b.width, H = Math.max(a.height, b.height);
    const data = new Uint8Array(W * H * 4).fill(128);
    for (const [img, ox] of [[a, 0], [b, a.width]] as const) for (let y = 0; y < img.height; y++) data.set(img.data.subarray(y * img.width * 4, (y + 1) * img.width * 4), (y * W + ox) * 4);
    writeFileSync(path.join(work, 'two-faces.png'), encodePng({ width: W, height: H, data }));
    writeFileSync(path.join(work, 'blank.png'), encodePng({ width: 200, height: 150, data: new Uint8Array(200 * 150 * 4).fill(255) }));
    const r = await conn.sendRequest(P.Predict, { images: [path.join(work, 'two-faces.png'), path.join(work, 'blank.png')] });
    const [two, blank] = r.results;
    assert.equal(two!.detected, true);
    assert.equal(two!.faces.length, 2);
    // One face on each photo, keypoints inside the image, each face's points around its own box.
    const xs = two!.faces.map((f) => f.detection!.x + f.detection!.width / 2).sort((p, q) => p - q);
    assert.ok(xs[0]! < a.width && xs[1]! > a.width, `face centres ${xs}`);
    for (const f of two!.faces) {
      assert.ok(f.score! > 0.5 && f.score! <= 1);
      assert.equal(f.keypoints.length, 15);
      const d = f.detection!;
      for (const k of f.keypoints) assert.ok(k.x > d.x - d.width && k.x < d.x + 2 * d.width && k.y > d.y - d.height && k.y < d.y + 2 * d.height, `${k.name} (${k.x}, ${k.y}) far from its face ${JSON.stringify(d)}`);
    }
    assert.equal(blank!.detected, true);
    assert.deepEqual(blank!.faces, []);
    await assert.rejects(conn.sendRequest(P.Predict, { images: [path.join(work, 'blank.png')], detect: 'sometimes' } as unknown as P.PredictParams), (err: ResponseError<void>) => err.code === P.ErrorCodes.invalidParams && /params\.detect/.test(err.message));
    const whole = await conn.sendRequest(P.Predict, { images: [path.join(work, 'blank.png')], detect: 'off' });
    assert.equal(whole.results[0]!.faces.length, 1);
  });

  test('evaluate the newest model on a CSV: RMSE and NME overall and per keypoint, the CED, the worst faces, and the pictures in the run folder', async () => {
    const r = await conn.sendRequest(P.Evaluate, { data: path.join(work, 'faces.csv') });
    assert.ok(Number.isFinite(r.rmse) && r.rmse > 0 && r.rmse < 48, `rmse ${r.rmse}`);
    assert.equal(Object.keys(r.perKeypoint).length, 15);
    assert.match(r.model, /runs/);
    assert.ok(r.nme > 0 && Number.isFinite(r.perKeypoint.nose_tip!.nme));
    assert.equal(r.ced.thresholds.length, 51);
    assert.equal(r.worst.length, 16);
    assert.equal(r.faces, 96);
    assert.deepEqual(Object.values(r.pictures!).map((f) => path.relative(r.model, f)), ['per-keypoint.png', 'ced.png', 'worst.png']);
    for (const f of Object.values(r.pictures!)) assert.ok(decodeImage(readFileSync(f), f).width > 100);
    const none = await conn.sendRequest(P.Evaluate, { data: path.join(work, 'faces.csv'), pictures: false });
    assert.equal(none.pictures, undefined);
  });

  test('bad input and bad settings come back as errors with codes and named fields', async () => {
    writeFileSync(path.join(work, 'bad.csv'), 'a_x,a_y,Image\n1,zz,1 2 3 4\n');
    await assert.rejects(conn.sendRequest(P.DatasetInfo, { path: path.join(work, 'bad.csv') }), (err: ResponseError<void>) => {
      assert.equal(err.code, P.ErrorCodes.invalidInput);
      assert.match(err.message, /bad\.csv, row 2, field "a_y"/);
      return true;
    });
    await assert.rejects(conn.sendRequest(P.TrainStart, { config: { train: { epochs: 0 } } }), (err: ResponseError<void>) => {
      assert.equal(err.code, P.ErrorCodes.invalidConfig);
      assert.match(err.message, /field "train.epochs"/);
      return true;
    });
    await assert.rejects(conn.sendRequest('no/such/method', {}), (err: ResponseError<void>) => err.code === P.ErrorCodes.methodNotFound);
  });

  test('a failure after train/start reaches the client exactly once, as one train/event error with a code', async () => {
    events.length = 0;
    const { runDir } = await conn.sendRequest(P.TrainStart, { config: { preset: 'tiny' }, dataPath: path.join(work, 'no-such-faces.csv') });
    assert.ok(runDir);
    await waitFor(() => events.some((e) => e.type === 'error'), 'the error event');
    // A reply after the error: any notification the server sent before it has arrived by now (one ordered stream).
    assert.equal((await conn.sendRequest(P.TrainStatus, {})).training, false);
    const errors = events.filter((e) => e.type === 'error');
    assert.equal(errors.length, 1, JSON.stringify(errors));
    assert.ok(errors[0]!.type === 'error' && ['user', 'input'].includes(errors[0]!.code) && /no-such-faces\.csv/.test(errors[0]!.message), JSON.stringify(errors[0]));
  });

  test('resume with other settings is refused, as on the command line', async () => {
    await assert.rejects(conn.sendRequest(P.TrainStart, { resume: path.join(work, 'runs', 'x'), config: { train: { epochs: 3 } } }), (err: ResponseError<void>) => {
      assert.equal(err.code, P.ErrorCodes.invalidConfig);
      assert.match(err.message, /resume continues .* config cannot be combined with it/);
      return true;
    });
  });

  test('sweep/start runs each trial as a run folder, streaming sweep events to one done; compare tabulates them (only the option that differs); bad folders and options are named', async () => {
    const sweepEvents: P.SweepNotification[] = [];
    const sub = conn.onNotification(P.SweepEventNotification, (e) => sweepEvents.push(e));
    const out = path.join(work, 'sweeps', 'lr');
    const r = await conn.sendRequest(P.SweepStart, { sets: ['train.learningRate=1e-3,5e-4'], preset: 'tiny', epochs: 1, data: path.join(work, 'faces.csv'), out, parallel: 2 });
    assert.equal(r.outDir, out);
    assert.equal(r.total, 2);
    await assert.rejects(conn.sendRequest(P.SweepStart, { sets: ['train.batchSize=8,16'], out: path.join(work, 'sweeps', 'other') }), (err: ResponseError<void>) => err.code === P.ErrorCodes.busy);
    await waitFor(() => sweepEvents.some((e) => e.type === 'done' || e.type === 'error'), 'the sweep to finish', 180_000);
    sub.dispose();
    const done = sweepEvents.find((e) => e.type === 'done');
    assert.ok(done && done.type === 'done', JSON.stringify(sweepEvents.filter((e) => e.type === 'error')));
    assert.deepEqual(done.result.failed, []);
    assert.equal(sweepEvents.filter((e) => e.type === 'trialEnd').length, 2);

    const c = await conn.sendRequest(P.Compare, { dirs: [out], html: true });
    assert.deepEqual(c.comparison.columns, ['train.learningRate']);
    assert.equal(c.comparison.rows.length, 2);
    assert.deepEqual(c.comparison.rows.map((row) => row.state), ['done', 'done']);
    assert.equal(c.cells.rows.length, 2);
    assert.equal(c.cells.head.length, c.cells.rows[0]!.length);
    assert.ok(c.runs.every((run) => run.metrics.length === 1), 'each run brings its learning curve');
    assert.match(c.html ?? '', /<table>/);
    assert.equal((await conn.sendRequest(P.Compare, { dirs: [out] })).html, undefined);

    const empty = path.join(work, 'not-a-run');
    await assert.rejects(conn.sendRequest(P.Compare, { dirs: [empty] }), (err: ResponseError<void>) => /not-a-run/.test(err.message) && err.code !== P.ErrorCodes.internal);
    await assert.rejects(conn.sendRequest(P.SweepStart, { sets: ['train.learningRat=1e-3,5e-4'], out: path.join(work, 'sweeps', 'bad') }), (err: ResponseError<void>) => {
      assert.notEqual(err.code, P.ErrorCodes.internal);
      assert.match(err.message, /learningRat/);
      return true;
    });
    assert.deepEqual(await conn.sendRequest(P.SweepStop, {}), { stopped: false });
  });

  test('malformed requests: wrong params get InvalidParams naming the field; a body that is not JSON gets ParseError', async () => {
    await assert.rejects(conn.sendRequest(P.Predict, { images: 5 } as unknown as P.PredictParams), (err: ResponseError<void>) => {
      assert.equal(err.code, P.ErrorCodes.invalidParams);
      assert.match(err.message, /predict: params\.images/);
      return true;
    });
    await assert.rejects(conn.sendRequest(P.DatasetSamples, { path: 'x.csv', count: 'all' } as unknown as P.DatasetSamplesParams), (err: ResponseError<void>) => {
      assert.equal(err.code, P.ErrorCodes.invalidParams);
      assert.match(err.message, /params\.count/);
      return true;
    });
    // Bypass the client: a framed body that is not JSON. The server answers with id null and keeps serving.
    const before = stdout.length;
    const body = '{"jsonrpc": "2.0", "id": 99, "method": ';
    child.stdin.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    await waitFor(() => stdout.length > before && /"id":null/.test(stdout.slice(before)), 'the parse error reply', 10_000);
    assert.match(stdout.slice(before), /"code":-32700/);
    assert.equal((await conn.sendRequest(P.TrainStatus, {})).training, false);
  });
});
