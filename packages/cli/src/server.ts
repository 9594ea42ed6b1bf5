import path from 'node:path';
import { createMessageConnection, ResponseError, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node.js';
import type { MessageConnection, RequestType, ResponseMessage } from 'vscode-jsonrpc';
import * as core from '@keypoints/core';
import { protocol as P } from '@keypoints/core';
import type { TrainingEvent } from '@keypoints/core';
import { VERSION } from './program.js';
import { defaultParallel, launchCli, loadSpec } from './commands/sweep.js';

/** User errors keep their message and get a stable code; anything else is logged with its stack. */
function toResponseError(err: unknown, log: (m: string) => void): ResponseError<void> {
  if (err instanceof ResponseError) return err;
  const code = core.errorCodeOf(err);
  if (code !== 'internal') return new ResponseError(P.RPC_CODE_OF[code], (err as Error).message);
  log(`internal error: ${(err as Error)?.stack ?? String(err)}`);
  return new ResponseError(P.RPC_CODE_OF.internal, `internal error: ${(err as Error)?.message ?? String(err)} (see the server log)`);
}

interface Session {
  runsFolder: string;
  backend: core.BackendName;
  training?: { runDir: string; controller: AbortController; done: Promise<unknown>; lastEpoch?: TrainingEvent };
  sweep?: { outDir: string; controller: AbortController; done: Promise<unknown> };
}

/**
 * `keypoints serve --stdio`: a JSON-RPC server over core, like a language server. Training runs in
 * this process as async work that yields between batches, so requests are answered while it runs.
 * One run at a time: a second train/start gets a `busy` error naming the run in progress.
 */
export function startServer(input: NodeJS.ReadableStream, output: NodeJS.WritableStream): MessageConnection {
  const reader = new StreamMessageReader(input);
  const writer = new StreamMessageWriter(output);
  // A body that is not JSON: JSON-RPC says answer ParseError with a null id (vscode-jsonrpc only drops it).
  reader.onError((err) => {
    if (!(err instanceof SyntaxError)) return;
    const reply: ResponseMessage = { jsonrpc: '2.0', id: null, error: { code: P.ErrorCodes.parseError, message: `not JSON: ${err.message}` } };
    void writer.write(reply);
  });
  const conn = createMessageConnection(reader, writer);
  const session: Session = { runsFolder: path.resolve('runs'), backend: 'auto' };
  const log = (message: string, level: P.LogParams['level'] = 'info') => {
    void conn.sendNotification(P.Log, { level, message });
    process.stderr.write(`[${level}] ${message}\n`);
  };
  // Every request: params checked against the protocol's shape, errors mapped to stable codes.
  const on = <A, R>(type: RequestType<A, R, void>, fn: (a: A) => Promise<R> | R) =>
    conn.onRequest(type, async (a: A): Promise<R> => {
      try {
        return await fn(core.checkParams<A>(type.method, a));
      } catch (err) {
        throw toResponseError(err, (m) => log(m, 'error'));
      }
    });
  // Concurrent reads of one file (the dataset preview asks for info and samples at once) share one parse.
  const reading = new Map<string, Promise<core.FaceSet>>();
  const readSet = (file: string): Promise<core.FaceSet> => {
    let r = reading.get(file);
    if (!r) {
      r = core.readFaceSet(file).finally(() => reading.delete(file));
      reading.set(file, r);
    }
    return r;
  };
  const latestModel = async (): Promise<string> => {
    const run = (await core.listRuns(session.runsFolder)).find((r) => r.hasModel);
    if (!run) throw new ResponseError(P.ErrorCodes.notFound, `no trained model in ${session.runsFolder}: train one first, or name a run folder`);
    return run.dir;
  };

  on(P.Initialize, async (p) => {
    if (p.runsFolder) session.runsFolder = path.resolve(p.runsFolder);
    if (p.backend) session.backend = p.backend;
    const backend = await core.initBackend(session.backend);
    log(`keypoints server ${VERSION} for ${p.clientName ?? 'a client'}: ${backend.note}; runs in ${session.runsFolder}`);
    return {
      serverVersion: VERSION,
      protocolVersion: P.PROTOCOL_VERSION,
      node: process.version,
      backend,
      presets: [...core.PresetName.options],
      capabilities: { train: true, stop: true, predict: true, evaluate: true, datasetInfo: true, datasetSamples: true, runsList: true, sweep: true, compare: true },
    };
  });

  on(P.TrainStart, async (p) => {
    if (session.training) throw new ResponseError(P.ErrorCodes.busy, `already training ${session.training.runDir}; stop it first (train/stop) or wait for it to finish`);
    const given = (['config', 'configFile', 'dataPath', 'runDir'] as const).filter((k) => p[k] !== undefined);
    const request = core.trainRequest({ resume: p.resume, resumeName: 'resume', given }, () => ({
      configFile: p.configFile,
      settings: p.dataPath ? core.deepMerge(p.config ?? {}, { data: { path: p.dataPath } }) : p.config,
      source: 'train/start config',
      runDir: p.runDir,
      runsFolder: session.runsFolder,
    }));
    // Bad settings fail this request; anything after it is one train/event error.
    const target = await core.trainTargetOf(request);
    const runDir = path.resolve(target.runDir);
    const controller = new AbortController();
    const t: NonNullable<Session['training']> = { runDir, controller, done: Promise.resolve() };
    session.training = t;
    const send = (e: TrainingEvent) => void conn.sendNotification(P.TrainEvent, e);
    t.done = core
      .trainRun({
        ...target,
        runDir,
        signal: controller.signal,
        onEvent: (e) => {
          if (e.type === 'epochEnd') t.lastEpoch = e;
          send(e);
        },
      })
      .catch((err: unknown) => {
        const code = core.errorCodeOf(err);
        if (code === 'internal') log(`internal error: ${(err as Error)?.stack ?? String(err)}`, 'error');
        send({ type: 'error', message: (err as Error)?.message ?? String(err), code });
      })
      .finally(() => {
        if (session.training === t) session.training = undefined;
      });
    return { runDir };
  });

  on(P.TrainStop, async () => {
    const t = session.training;
    if (!t) return { stopped: false };
    t.controller.abort();
    await t.done;
    return { stopped: true, runDir: t.runDir };
  });

  on(P.TrainStatus, () => ({ training: !!session.training, runDir: session.training?.runDir, lastEpoch: session.training?.lastEpoch }));

  on(P.Predict, async (p) => {
    const dir = p.model ?? (await latestModel());
    const run = await core.loadRun(dir);
    try {
      const results = await core.predictImageFiles(core.asKeypointModel(run), p.images, { detect: p.detect, detector: p.detector, minScore: p.minScore, refine: p.refine });
      return { model: dir, keypoints: run.keypoints, results };
    } finally {
      run.model.dispose();
    }
  });

  on(P.Evaluate, async (p) => {
    const dir = p.model ?? (await latestModel());
    const run = await core.loadRun(dir);
    try {
      const set = await core.readFaceSet(p.data, { imageSize: run.imageSize });
      return { ...(await core.evaluateModel(core.asKeypointModel(run), set)), model: dir };
    } finally {
      run.model.dispose();
    }
  });

  on(P.DatasetInfo, async (p) => {
    const set = await readSet(p.path);
    let complete = 0;
    for (let r = 0; r < set.count; r++) if (core.isComplete(set, r)) complete++;
    return { source: set.source, rows: set.count, width: set.width, height: set.height, keypoints: [...set.keypoints], complete, missing: core.missingCounts(set) };
  });

  on(P.DatasetSamples, async (p) => {
    const set = await readSet(p.path);
    const S = set.width * set.height, K = set.keypoints.length;
    const from = Math.max(0, p.offset ?? 0), to = Math.min(set.count, from + Math.max(0, p.count));
    const samples: P.DatasetSample[] = [];
    for (let r = from; r < to; r++) {
      const png = core.encodePng(core.grayToRgba(set.pixels.subarray(r * S, (r + 1) * S), set.width, set.height));
      samples.push({
        row: set.rows[r]!,
        image: 'data:image/png;base64,' + Buffer.from(png).toString('base64'),
        width: set.width,
        height: set.height,
        keypoints: set.keypoints.map((name, k) => ({ name, x: set.coords[(r * K + k) * 2]!, y: set.coords[(r * K + k) * 2 + 1]! })).filter((k) => Number.isFinite(k.x) && Number.isFinite(k.y)),
      });
    }
    return { samples };
  });

  on(P.RunsList, async (p) => ({ runs: await core.listRuns(p.folder ? path.resolve(p.folder) : session.runsFolder) }));

  // A sweep's trials are `keypoints train` processes (as the CLI's sweep): the server stays free to answer.
  on(P.SweepStart, async (p) => {
    if (session.sweep) throw new ResponseError(P.ErrorCodes.busy, `already running the sweep in ${session.sweep.outDir}; stop it first (sweep/stop) or wait for it to finish`);
    const { spec, base, source, name } = await loadSpec(p.file, { set: p.sets ?? [], preset: p.preset, epochs: p.epochs, timeLimit: p.timeLimit, data: p.data, limit: p.limit });
    const trials = core.expandSweep(spec, base, source);
    const shard = core.resolveShard(p.shard);
    const outDir = path.resolve(p.out ?? path.join(path.dirname(session.runsFolder), 'sweeps', name));
    const controller = new AbortController();
    const send = (e: P.SweepNotification) => void conn.sendNotification(P.SweepEventNotification, e);
    const s: NonNullable<Session['sweep']> = { outDir, controller, done: Promise.resolve() };
    session.sweep = s;
    s.done = core
      .runSweep({ outDir, spec, trials, shard, parallel: p.parallel ?? defaultParallel(), launch: launchCli, signal: controller.signal, onEvent: send })
      .then((result) => send({ type: 'done', result }))
      .catch((err: unknown) => {
        const code = core.errorCodeOf(err);
        if (code === 'internal') log(`internal error: ${(err as Error)?.stack ?? String(err)}`, 'error');
        send({ type: 'error', message: (err as Error)?.message ?? String(err), code });
      })
      .finally(() => {
        if (session.sweep === s) session.sweep = undefined;
      });
    return { outDir, total: core.selectShard(trials, shard).length };
  });

  on(P.SweepStop, async () => {
    const s = session.sweep;
    if (!s) return { stopped: false };
    s.controller.abort();
    await s.done;
    return { stopped: true, outDir: s.outDir };
  });

  on(P.Compare, async (p) => {
    const runs = await core.findRuns(p.dirs.map((d) => path.resolve(d)));
    const comparison = core.compareRuns(runs);
    return {
      comparison,
      cells: core.comparisonCells(comparison),
      runs: runs.map((r) => ({ dir: r.dir, name: r.name, state: r.state, metrics: r.metrics })),
      html: p.html ? await core.compareHtml(comparison, runs) : undefined,
    };
  });

  conn.onClose(() => {
    session.sweep?.controller.abort();
    session.training?.controller.abort();
  });
  conn.listen();
  return conn;
}
