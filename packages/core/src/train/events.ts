/**
 * Named training events. The trainer emits them; the CLI prints them, the JSON-RPC server forwards
 * them as notifications, the extension's charts draw them. Plain JSON-serialisable objects only.
 */

import type { ErrorCode } from '../errors.js';
import type { TimeBreakdown } from './time-breakdown.js';

/** One line of metrics.jsonl, and the payload of `epochEnd`. */
export interface EpochMetrics {
  epoch: number; // 1-based
  epochs: number; // planned total (fitted to a time limit after the first full epoch; 0 while an "auto" run has not planned yet)
  trainLoss: number; // mean training loss (train.loss: masked MSE or Wing) on normalised coordinates, plus regularisation
  valLoss: number; // mean masked MSE on normalised coordinates
  valRmse: number; // RMSE in pixels of the 96×96 image, over present coordinates
  learningRate: number; // at the end of the epoch
  seconds: number; // wall time of this epoch
  imagesPerSecond: number; // training throughput this epoch
  elapsedSeconds: number; // since the run started (resumes included)
  best: boolean; // this epoch improved the best validation loss
}

/** The hyper-parameters a run's start line shows (the rest is in config.json). */
export interface TrainSettings {
  preset: string;
  /** 'auto': planned after the first epoch to fill the time limit. */
  epochs: number | 'auto';
  batchSize: number;
  optimizer: string;
  learningRate: number;
  schedule: string;
  warmupEpochs: number;
  patience: number;
  seed: number;
  timeLimitMinutes?: number;
  freezeEpochs: number;
  /** train.loss.type and train.ema (0 = off). */
  loss?: string;
  ema?: number;
  augment: { flip: boolean; shift: number; rotate: number; scale: number; brightness: number };
}

export interface TrainingEventMap {
  /** The run is set up: config resolved, data loaded, backend chosen. */
  start: {
    runDir: string;
    backend: string;
    backendNote: string;
    dataSource: string;
    synthetic: boolean;
    trainCount: number;
    valCount: number;
    keypoints: string[];
    epochs: number;
    stepsPerEpoch: number;
    startEpoch: number; // > 1 when resumed
    parameters: number;
    flopsPerImage: number; // forward pass
    /** The key hyper-parameters, as config.json holds them (optional: events recorded before it lack it). */
    settings?: TrainSettings;
  };
  batchEnd: { epoch: number; batch: number; batches: number; loss: number; learningRate: number; imagesPerSecond: number; etaSeconds: number };
  epochEnd: EpochMetrics;
  checkpoint: { runDir: string; epoch: number; best: boolean };
  /** A non-fatal notice (early stopping, time limit reached, divergence detected). */
  log: { level: 'info' | 'warn'; message: string };
  done: {
    runDir: string;
    reason: 'completed' | 'early-stopped' | 'time-limit' | 'diverged' | 'stopped';
    bestEpoch: number;
    bestValLoss: number;
    bestValRmse: number;
    epochsRun: number;
    seconds: number;
    /** How `seconds` split: batches, steps, validation, saving, other (absent from events recorded before it). */
    timeBreakdownSeconds?: TimeBreakdown;
  };
  /** A failure, reported once by the shell that ran the training (CLI, server), never by the trainer itself. */
  error: { message: string; code: ErrorCode };
}

export type TrainingEventName = keyof TrainingEventMap;
export type TrainingEvent = { [K in TrainingEventName]: { type: K } & TrainingEventMap[K] }[TrainingEventName];
export type TrainingListener = (event: TrainingEvent) => void;
