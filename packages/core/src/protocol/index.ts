/**
 * The trainer server's protocol: every JSON-RPC request and notification between the extension
 * (or any client) and `keypoints serve --stdio`, as typed constants. Server and client import the
 * same constants, so a renamed method or a changed payload is a compile error on both sides.
 */
import { NotificationType, RequestType } from 'vscode-jsonrpc';
import type { BackendInfo } from '../backend/types.js';
import type { Evaluation } from '../evaluate/index.js';
import type { ImagePrediction } from '../predict/index.js';
import type { TrainingEvent } from '../train/events.js';

export const PROTOCOL_VERSION = 1;

/** Error codes in JSON-RPC error responses (besides JSON-RPC's own -32xxx). */
export const ErrorCodes = {
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

export interface InitializeParams {
  clientName?: string;
  /** Where runs are written and looked up (default: `runs` under the server's working folder). */
  runsFolder?: string;
}
export interface InitializeResult {
  serverVersion: string;
  protocolVersion: number;
  node: string;
  backend: BackendInfo;
  presets: string[];
  capabilities: { train: true; stop: true; predict: true; evaluate: true; datasetInfo: true; datasetSamples: true; runsList: true };
}
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
export const TrainStart = new RequestType<TrainStartParams, TrainStartResult, void>('train/start');

export interface TrainStopResult {
  /** False when nothing was training. */
  stopped: boolean;
  runDir?: string;
}
/** Stops after the current batch; the run's last epoch checkpoint stays for resuming. Resolves once the run has ended. */
export const TrainStop = new RequestType<Record<string, never>, TrainStopResult, void>('train/stop');

export interface TrainStatusResult {
  training: boolean;
  runDir?: string;
  lastEpoch?: TrainingEvent;
}
export const TrainStatus = new RequestType<Record<string, never>, TrainStatusResult, void>('train/status');

export interface PredictParams {
  images: string[];
  /** A run folder; omitted: the newest run with a model in the runs folder. */
  model?: string;
}
export interface PredictResult {
  model: string;
  keypoints: string[];
  results: ImagePrediction[];
}
export const Predict = new RequestType<PredictParams, PredictResult, void>('predict');

export interface EvaluateParams {
  data: string;
  model?: string;
}
export type EvaluateResult = Evaluation & { model: string };
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
export const TrainEvent = new NotificationType<TrainingEvent>('train/event');

/** Server log lines, for the client's output channel. */
export interface LogParams {
  level: 'info' | 'warn' | 'error';
  message: string;
}
export const Log = new NotificationType<LogParams>('log');
