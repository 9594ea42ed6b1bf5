import path from 'node:path';
import { createMessageConnection, ResponseError, StreamMessageWriter } from 'vscode-jsonrpc/node.js';
import type { CancellationToken, DataCallback, Message, MessageConnection, RequestType, ResponseMessage } from 'vscode-jsonrpc';
import * as core from '@keypoints/core';
import { protocol as P } from '@keypoints/core';
import type { TrainingEvent } from '@keypoints/core';
import { VERSION } from './program.js';
import { defaultParallel, launchCli, loadSpec } from './commands/sweep.js';
import { datasetInfo, datasetReader, datasetSamples } from './server-dataset.js';
import { boundedReader } from './bounded-reader.js';

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
  /** Registered before train/start's first await, so two starts sent together cannot both pass the busy check. */
  training?: { runDir: string; controller: AbortController; done: Promise<unknown>; lastEpoch?: TrainingEvent };
  sweep?: { outDir: string; controller: AbortController; done: Promise<unknown> };
}

/** The running server: its connection, and `finished`, which resolves once the client is gone and any run has stopped (with a checkpoint). */
export interface ServerHandle {
  conn: MessageConnection;
  finished: Promise<{ reason: 'closed' | 'framing' }>;
  /** Stops as if the client had gone (a signal): any run stops with a checkpoint, then `finished` resolves. */
  stop(): Promise<void>;
}

/** A parsed body that is one JSON-RPC message (an object), not a batch array or a scalar. */
const isMessageObject = (m: unknown): m is Message => typeof m === 'object' && m !== null && !Array.isArray(m);

/**
 * `keypoints serve --stdio`: a JSON-RPC server over core, like a language server. Training runs in
 * this process as async work that yields between batches, so requests are answered while it runs.
 * One run at a time: a second train/start gets a `busy` error naming the run in progress.
 */
export function startServer(input: NodeJS.ReadableStream, output: NodeJS.WritableStream): ServerHandle {
  const { reader, stop: stopReading } = boundedReader(input, core.limits().messageBytes);
  const writer = new StreamMessageWriter(output);
  let closed = false;
  // Requests read but not yet answered: when stdin closes (`printf … | keypoints serve`) or the
  // framing breaks, those read before are still answered before the server ends.
  const unanswered = new Set<unknown>();
  const write = writer.write.bind(writer);
  writer.write = (msg: Message) => {
    if ('id' in msg && !('method' in msg)) unanswered.delete(msg.id);
    return write(msg);
  };
  // A failed write (the client went away) is dropped: there is no one to tell.
  const replyError = (code: number, message: string) => {
    const reply: ResponseMessage = { jsonrpc: '2.0', id: null, error: { code, message } };
    return writer.write(reply).catch(() => undefined);
  };
  // Batch arrays and scalar bodies: JSON-RPC says answer InvalidRequest (vscode-jsonrpc only drops them).
  const listen = reader.listen.bind(reader);
  reader.listen = (callback: DataCallback) =>
    listen((m: unknown) => {
      if (isMessageObject(m)) {
        if ('method' in m && 'id' in m && m.id !== null && m.id !== undefined) unanswered.add(m.id);
        return callback(m);
      }
      void replyError(P.ErrorCodes.invalidRequest, Array.isArray(m) ? 'batch requests are not supported: send one request per message' : `not a JSON-RPC request object: ${JSON.stringify(m)?.slice(0, 40)}`);
    });
  let finish!: (r: { reason: 'closed' | 'framing' }) => void;
  const finished = new Promise<{ reason: 'closed' | 'framing' }>((r) => (finish = r));
  // A body that is not JSON: JSON-RPC says answer ParseError with a null id (vscode-jsonrpc only drops it).
  // A broken header (no, or a non-numeric, Content-Length) loses the framing for good: the stream
  // cannot be read on, so say so, stop any run with a checkpoint and end, rather than live on deaf.
  reader.onError((err) => {
    if (err instanceof SyntaxError) return void replyError(P.ErrorCodes.parseError, `not JSON: ${err.message}`);
    stopReading();
    // Its first line, escaped and cut: it may quote whatever bytes arrived as a header.
    const what = core.clip(String((err as Error)?.message ?? err).split('\n')[0]!, 200);
    log(`broken message framing (${what}): stopping`, 'error');
    // The reply is written before the process ends.
    void replyError(P.ErrorCodes.parseError, `broken message framing (${what}); the server stops`).then(() => shutDown('framing'));
  });
  const conn = createMessageConnection(reader, writer);
  const session: Session = { runsFolder: path.resolve('runs'), backend: 'auto' };
  // After the client has gone, notifications have nowhere to go: stderr still gets the log.
  const notify = <T>(type: { method: string }, params: T) => {
    if (!closed) conn.sendNotification(type.method, params).catch(() => undefined);
  };
  const log = (message: string, level: P.LogParams['level'] = 'info') => {
    notify(P.Log, { level, message } satisfies P.LogParams);
    process.stderr.write(`[${level}] ${message}\n`);
  };
  /** A background run's failure as its one error event (internal errors also logged with their stack). */
  const errorEvent = (err: unknown) => {
    const code = core.errorCodeOf(err);
    if (code === 'internal') log(`internal error: ${(err as Error)?.stack ?? String(err)}`, 'error');
    return { type: 'error' as const, message: (err as Error)?.message ?? String(err), code };
  };
  let shuttingDown: Promise<void> | undefined;
  const requests = new Set<AbortController>();
  /** The client is gone (stdin closed, a signal) or the framing broke: stop the run and any sweep with a checkpoint, then finish. */
  const shutDown = (reason: 'closed' | 'framing') =>
    (shuttingDown ??= (async () => {
      closed = true;
      const t = session.training, s = session.sweep;
      if (t) {
        process.stderr.write(`[info] the client is gone: stopping the training of ${t.runDir || 'a starting run'} with a checkpoint\n`);
        t.controller.abort();
      }
      // A sweep's trials are processes of their own: stopped too (each checkpoints), not left running.
      if (s) {
        process.stderr.write(`[info] the client is gone: stopping the sweep in ${s.outDir}\n`);
        s.controller.abort();
      }
      // Requests in progress: their work stops (a client that is gone wants no more of it), they answer.
      for (const c of requests) c.abort();
      for (let waited = 0; unanswered.size && waited < 10_000; waited += 10) await new Promise((r) => setTimeout(r, 10));
      await Promise.all([t?.done, s?.done]);
      finish({ reason });
    })());
  // Every request: params checked against the protocol's shape, errors mapped to stable codes, and
  // a signal that fires on the client's `$/cancelRequest` for it: the work stops at its next check
  // and the answer is RequestCancelled (-32800). A running training has its own controller: untouched.
  const on = <A, R>(type: RequestType<A, R, void>, fn: (a: A, signal: AbortSignal) => Promise<R> | R) =>
    conn.onRequest(type, async (a: A, token: CancellationToken): Promise<R> => {
      const controller = new AbortController();
      const cancel = token.onCancellationRequested(() => controller.abort());
      requests.add(controller);
      try {
        core.throwIfCancelled(token.isCancellationRequested ? AbortSignal.abort() : undefined, type.method);
        return await fn(core.checkParams<A>(type.method, a), controller.signal);
      } catch (err) {
        throw toResponseError(err, (m) => log(m, 'error'));
      } finally {
        cancel.dispose();
        requests.delete(controller);
      }
    });
  const readSet = datasetReader((file) => log(`stopped reading ${file}: every request for it was cancelled`));
  const latestModel = async (): Promise<string> => {
    const run = (await core.listRuns(session.runsFolder)).find((r) => r.hasModel);
    if (!run) throw new ResponseError(P.ErrorCodes.notFound, `no trained model in ${session.runsFolder}: train one first, or name a run folder`);
    return run.dir;
  };

  on(P.Initialize, async (p) => {
    // The running training keeps its backend: switching it under the run moved it (803 → 6 img/s).
    const t = session.training;
    if (t && p.backend && p.backend !== session.backend) {
      throw new ResponseError(P.ErrorCodes.busy, `cannot switch the backend to ${p.backend} while training ${t.runDir || 'a starting run'} on ${session.backend}; stop it (train/stop) or wait for it to finish, then initialize again`);
    }
    if (p.runsFolder) session.runsFolder = path.resolve(p.runsFolder);
    if (p.backend) session.backend = p.backend;
    const backend = t ? (core.currentBackend() ?? (await core.initBackend(session.backend))) : await core.initBackend(session.backend);
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

  on(P.TrainStart, async (p, signal) => {
    if (session.training) throw new ResponseError(P.ErrorCodes.busy, `already training ${session.training.runDir || 'a run that is starting'}; stop it first (train/stop) or wait for it to finish`);
    // Registered now, before any await: a second train/start sent with this one sees it.
    const controller = new AbortController();
    const t: NonNullable<Session['training']> = { runDir: '', controller, done: Promise.resolve() };
    session.training = t;
    try {
      t.runDir = await startTraining(p, t, signal);
      return { runDir: t.runDir };
    } catch (err) {
      if (session.training === t) session.training = undefined;
      throw err;
    }
  });

  /** Resolves the request and starts the run in the background; returns its folder. */
  const startTraining = async (p: P.TrainStartParams, t: NonNullable<Session['training']>, signal: AbortSignal): Promise<string> => {
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
    // Cancelled while the config was read: no run starts. Once started, the answer is its folder.
    core.throwIfCancelled(signal, 'train/start');
    if (t.controller.signal.aborted) throw new core.UserError('the server is stopping: no run started');
    const runDir = path.resolve(target.runDir);
    t.runDir = runDir;
    const send = (e: TrainingEvent) => notify(P.TrainEvent, e);
    t.done = core
      .trainRun({
        ...target,
        runDir,
        signal: t.controller.signal,
        onEvent: (e) => {
          if (e.type === 'epochEnd') t.lastEpoch = e;
          send(e);
        },
      })
      .catch((err: unknown) => send(errorEvent(err)))
      .finally(() => {
        if (session.training === t) session.training = undefined;
      });
    return runDir;
  };

  on(P.TrainStop, async () => {
    const t = session.training;
    if (!t) return { stopped: false };
    t.controller.abort();
    await t.done;
    return { stopped: true, runDir: t.runDir };
  });

  on(P.TrainStatus, () => ({ training: !!session.training, runDir: session.training?.runDir || undefined, lastEpoch: session.training?.lastEpoch }));

  // Cancel points between opening the model and predicting (the prediction itself runs to its end).
  // No run named and none trained: the ready model answers (and the result names it).
  on(P.Predict, (p, signal) =>
    core.withModel(core.openPredictModel(p.model, session.runsFolder), async (chosen) => {
      core.throwIfCancelled(signal, 'predict');
      const results = await core.predictImageFiles(chosen.model, p.images, { detect: p.detect, detector: p.detector, minScore: p.minScore, refine: p.refine ?? chosen.refine, tta: chosen.tta });
      return { model: chosen.name, origin: chosen.origin, keypoints: [...chosen.model.keypoints], results };
    }),
  );

  on(P.Evaluate, async (p, signal) => {
    const model = p.model ?? (await latestModel());
    const out = p.pictures === false ? undefined : p.out ?? (core.isBuiltInModel(model) ? undefined : model);
    const { evaluation, notes, photos, pictures } = await core.evaluateRequest({ model, data: p.data, framing: p.framing, detector: p.detector, pictures: out, signal });
    return { ...evaluation, model, notes, ...(photos && { photos }), ...(pictures && { pictures }) };
  });

  on(P.DatasetInfo, async (p, signal) => datasetInfo(await readSet(p.path, signal)));

  on(P.DatasetSamples, async (p, signal) => datasetSamples(await readSet(p.path, signal), p, signal));

  on(P.RunsList, async (p) => ({ runs: await core.listRuns(p.folder ? path.resolve(p.folder) : session.runsFolder) }));

  // A sweep's trials are `keypoints train` processes (as the CLI's sweep): the server stays free to answer.
  on(P.SweepStart, async (p, signal) => {
    if (session.sweep) throw new ResponseError(P.ErrorCodes.busy, `already running the sweep in ${session.sweep.outDir || 'a sweep that is starting'}; stop it first (sweep/stop) or wait for it to finish`);
    // Registered before any await, as a run is: two sweep/starts sent together cannot both pass the check.
    const controller = new AbortController();
    const s: NonNullable<Session['sweep']> = { outDir: '', controller, done: Promise.resolve() };
    session.sweep = s;
    let started = false;
    try {
      const { spec, base, source, name } = await loadSpec(p.file, { set: p.sets ?? [], preset: p.preset, epochs: p.epochs, timeLimit: p.timeLimit, data: p.data, limit: p.limit });
      core.throwIfCancelled(signal, 'sweep/start');
      if (controller.signal.aborted) throw new core.UserError('the server is stopping: no sweep started');
      const trials = core.expandSweep(spec, base, source);
      const shard = core.resolveShard(p.shard);
      s.outDir = path.resolve(p.out ?? path.join(path.dirname(session.runsFolder), 'sweeps', name));
      const send = (e: P.SweepNotification) => notify(P.SweepEventNotification, e);
      s.done = core
        .runSweep({ outDir: s.outDir, spec, trials, shard, parallel: p.parallel ?? defaultParallel(), launch: launchCli, signal: controller.signal, onEvent: send })
        .then((result) => send({ type: 'done', result }))
        .catch((err: unknown) => send(errorEvent(err)))
        .finally(() => {
          if (session.sweep === s) session.sweep = undefined;
        });
      started = true;
      return { outDir: s.outDir, total: core.selectShard(trials, shard).length };
    } catch (err) {
      if (session.sweep === s && !started) session.sweep = undefined;
      throw err;
    }
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

  conn.onClose(() => void shutDown('closed'));
  conn.listen();
  return { conn, finished, stop: () => shutDown('closed') };
}
