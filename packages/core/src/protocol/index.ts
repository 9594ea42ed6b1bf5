/**
 * The trainer server's protocol: every JSON-RPC request and notification between the extension
 * (or any client) and `keypoints serve --stdio`, as typed constants. Server and client import the
 * same constants, so a renamed method or a changed payload is a compile error on both sides.
 */
import { NotificationType, RequestType } from 'vscode-jsonrpc';
import type { BackendInfo } from '../backend/types.js';
import type { BackendName } from '../config/schema.js';
import type { Evaluation, PhotoFraming } from '../evaluate/index.js';
import type { EvaluationPictures, PhotoSummary } from '../evaluate/request.js';
import type { DetectorName } from '../detect/weights.js';
import type { DetectMode, ImagePrediction } from '../predict/index.js';
import type { Comparison, RunProgress } from '../experiments/compare.js';
import type { SweepEvent, SweepResult } from '../experiments/runner.js';
import type { EpochMetrics, TrainingEvent } from '../train/events.js';
import type { ErrorCode } from '../errors.js';

export type { EpochMetrics, TrainingEvent } from '../train/events.js';
export type { ErrorCode } from '../errors.js';

export const PROTOCOL_VERSION = 1;

/** The model `predict` falls back to when no run has a model: face-api's landmark net, calibrated on faces96 (core's READY_MODEL; a test keeps them equal). */
export const READY_MODEL = 'face-api-68-calibrated';

/**
 * Error codes in JSON-RPC error responses. Stable: clients may branch on them. The -32xxx ones are
 * JSON-RPC's own (a body that is not JSON, params of the wrong shape, an unknown method).
 */
export const ErrorCodes = {
  parseError: -32700,
  /** Not one request object: a batch array, a scalar body (batches are not supported). */
  invalidRequest: -32600,
  /** The params do not have the shape this protocol declares; the message names the field. */
  invalidParams: -32602,
  methodNotFound: -32601,
  /** The client sent `$/cancelRequest` for it (LSP's RequestCancelled): its work was stopped. A running training is not touched. */
  requestCancelled: -32800,
  /** Bad settings: the message names the field. */
  invalidConfig: 1001,
  /** A malformed input file: the message names the file, row and field. */
  invalidInput: 1002,
  /** A training run is already in progress (one at a time: start another after it ends or is stopped). */
  busy: 1003,
  /** No such run, model or file. */
  notFound: 1004,
  /** Anything unexpected: see the server log. */
  internal: 1099,
} as const;

/** The JSON-RPC error code of each of core's error codes (errors.ts): the server answers with these. */
export const RPC_CODE_OF: Record<ErrorCode, number> = {
  user: ErrorCodes.invalidConfig,
  input: ErrorCodes.invalidInput,
  busy: ErrorCodes.busy,
  'not-found': ErrorCodes.notFound,
  cancelled: ErrorCodes.requestCancelled,
  internal: ErrorCodes.internal,
  'server-exit': ErrorCodes.internal,
};


export interface InitializeParams {
  clientName?: string;
  /** Where runs are written and looked up (default: `runs` under the server's working folder). */
  runsFolder?: string;
  /** Compute backend for predict/evaluate (and training unless its config names one); default auto. */
  backend?: BackendName;
}
export interface InitializeResult {
  serverVersion: string;
  protocolVersion: number;
  node: string;
  backend: BackendInfo;
  presets: string[];
  /** The requests this server answers (a future server may leave some out). */
  capabilities: Record<'train' | 'stop' | 'predict' | 'evaluate' | 'datasetInfo' | 'datasetSamples' | 'runsList' | 'sweep' | 'compare', boolean>;
}
/**
 * May be re-sent to change the runs folder or backend. During training a different backend is
 * refused with `ErrorCodes.busy` (the running training never moves); the same one is answered as is.
 */
export const Initialize = new RequestType<InitializeParams, InitializeResult, void>('initialize');

export interface TrainStartParams {
  /** Settings as in a *.keypoints.json file (validated by the server). */
  config?: Record<string, unknown>;
  /** A *.keypoints.json file to read settings from; `config` overrides it. */
  configFile?: string;
  /** Training data; overrides the config's data.path. Omitted everywhere: synthetic faces. */
  dataPath?: string;
  /** Run folder to write (default: a new one in the runs folder). */
  runDir?: string;
  /** Continue this run folder from its checkpoint instead. */
  resume?: string;
}
export interface TrainStartResult {
  runDir: string;
}
/**
 * Starts a run as background work in the server and answers at once with its folder; progress
 * arrives as `train/event` notifications. One run at a time: while one runs, another train/start
 * fails with `ErrorCodes.busy` naming it. Not queued, by choice: a queued run would start unseen,
 * possibly much later, with settings the user may since have changed.
 */
export const TrainStart = new RequestType<TrainStartParams, TrainStartResult, void>('train/start');

export interface TrainStopResult {
  /** False when nothing was training. */
  stopped: boolean;
  runDir?: string;
}
/**
 * Stops after the current batch and saves a checkpoint there (train/start with `resume` continues
 * exactly from it; model.json keeps the best weights so far). Resolves once the run has ended.
 */
export const TrainStop = new RequestType<Record<string, never>, TrainStopResult, void>('train/stop');

export interface TrainStatusResult {
  training: boolean;
  runDir?: string;
  lastEpoch?: TrainingEvent;
}
export const TrainStatus = new RequestType<Record<string, never>, TrainStatusResult, void>('train/status');

export interface PredictParams {
  images: string[];
  /** A run folder or `face-api-68`; omitted: the newest run with a model in the runs folder, else `face-api-68` (the model ready before any training). */
  model?: string;
  /** Face detection (default auto: every image not exactly the model's input size); see `keypoints predict --detect`. */
  detect?: DetectMode;
  /** Which face detector (default tiny). */
  detector?: DetectorName;
  /** Detections scoring at or below this are dropped (default 0.5). */
  minScore?: number;
  /** Re-crop each face from a first prediction's eyes and lip (default true). */
  refine?: boolean;
}
/** Each result lists every face found; `faces` is empty (not an error) when detection found none. */
export interface PredictResult {
  /** The model that answered: a run folder, or `face-api-68`. */
  model: string;
  /** How it was chosen: named in the request, the newest run, or the ready model (no run yet). */
  origin?: 'given' | 'newest-run' | 'ready';
  keypoints: string[];
  results: ImagePrediction[];
}
export const Predict = new RequestType<PredictParams, PredictResult, void>('predict');

export interface EvaluateParams {
  data: string;
  /** A run folder or `face-api-68`; omitted: the newest run with a model. */
  model?: string;
  /** A photo folder scored as predict meets photos (see `keypoints evaluate --framing`). */
  framing?: PhotoFraming;
  detector?: DetectorName;
  /** Write per-keypoint.png, ced.png and worst.png (default true): into `out`, else the run folder (none for face-api-68 without `out`). */
  pictures?: boolean;
  out?: string;
}
/** RMSE and NME overall and per keypoint, CED, worst faces; with what was scored and the pictures' paths. */
export type EvaluateResult = Evaluation & { model: string; notes?: string[]; photos?: PhotoSummary; pictures?: EvaluationPictures };
export const Evaluate = new RequestType<EvaluateParams, EvaluateResult, void>('evaluate');

export interface DatasetInfoParams {
  path: string;
}
export interface DatasetInfoResult {
  source: string;
  rows: number;
  width: number;
  height: number;
  keypoints: string[];
  /** Rows with every keypoint labelled. */
  complete: number;
  /** Rows missing each keypoint. */
  missing: Record<string, number>;
}
export const DatasetInfo = new RequestType<DatasetInfoParams, DatasetInfoResult, void>('dataset/info');

export interface DatasetSamplesParams {
  path: string;
  /** At most 256 rows per request. */
  count: number;
  offset?: number;
}
export interface DatasetSample {
  row: number;
  /** data:image/png;base64,… of the face. */
  image: string;
  width: number;
  height: number;
  keypoints: Array<{ name: string; x: number; y: number }>;
}
export const DatasetSamples = new RequestType<DatasetSamplesParams, { samples: DatasetSample[] }, void>('dataset/samples');

export interface RunSummary {
  dir: string;
  name: string;
  preset?: string;
  hasModel: boolean;
  bestValRmse?: number;
  bestEpoch?: number;
  epochsRun?: number;
  reason?: string;
  modified: number;
}
export const RunsList = new RequestType<{ folder?: string }, { runs: RunSummary[] }, void>('runs/list');

/** Every training event (start, batchEnd, epochEnd, checkpoint, log, done, error), as the trainer emits it. */
/** Runs a sweep (a *.sweep.json, or `option=v1,v2` sets as `keypoints sweep --set`); each trial a `keypoints train` process. One sweep at a time. */
export interface SweepStartParams {
  file?: string;
  sets?: string[];
  /** The sweep folder; default `sweeps/<file's name>` beside the runs folder. */
  out?: string;
  /** The preset every trial starts from (as `keypoints sweep --preset`). */
  preset?: string;
  parallel?: number;
  /** `i/n`: this job's share of the trials. */
  shard?: string;
  epochs?: number;
  timeLimit?: number;
  data?: string;
  limit?: number;
}
export interface SweepStartResult {
  outDir: string;
  total: number;
}
export const SweepStart = new RequestType<SweepStartParams, SweepStartResult, void>('sweep/start');
export const SweepStop = new RequestType<Record<string, never>, { stopped: boolean; outDir?: string }, void>('sweep/stop');
/** The runner's events, then one `done` (with what ran, failed, and whether it was stopped) or one `error`. */
export type SweepNotification = SweepEvent | { type: 'done'; result: SweepResult } | { type: 'error'; message: string; code: ErrorCode };
export const SweepEventNotification = new NotificationType<SweepNotification>('sweep/event');

/** `keypoints compare` over run or sweep folders: the table (rows sorted by RMSE), its cells as the CLI prints them, and each run's curves. */
export interface CompareParams {
  dirs: string[];
  /** Also the self-contained HTML report (plotly inlined: about 1.2 MB). */
  html?: boolean;
}
export interface CompareResult {
  comparison: Comparison;
  cells: { head: string[]; rows: string[][] };
  runs: Array<{ dir: string; name: string; state: RunProgress; metrics: EpochMetrics[] }>;
  html?: string;
}
export const Compare = new RequestType<CompareParams, CompareResult, void>('compare');

export const TrainEvent = new NotificationType<TrainingEvent>('train/event');

/** Server log lines, for the client's output channel. */
export interface LogParams {
  level: 'info' | 'warn' | 'error';
  message: string;
}
export const Log = new NotificationType<LogParams>('log');

export * from './webview.js';
