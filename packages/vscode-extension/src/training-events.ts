/** What the extension does with each training event (status bar, log, progress, the one error message), apart from the VS Code API so tests can drive it. */
import type { ErrorCode } from '@keypoints/core/protocol';
import type * as P from '@keypoints/core/protocol';
import type { TrainerState } from './format';

/** The editor's side of a run: the parts of the UI a training event touches. */
export interface TrainingUi {
  setState(s: TrainerState): void;
  log: { info(m: string): void; warn(m: string): void };
  /** The one error message of a failed run (a toast with a button to the log). */
  showError(what: string, message: string): void;
  /** Ends the progress notification of the run, if one is showing. */
  progressDone(): void;
}

/** Codes whose message the extension has already shown in its own way (the server-stopped toast offers Restart). */
const SHOWN_ELSEWHERE: readonly ErrorCode[] = ['server-exit'];

/** A listener for `train/event` notifications: each failure reaches the user once, as one message. */
export function trainingEventHandler(ui: TrainingUi): (e: P.TrainingEvent) => void {
  let plannedEpochs = 0;
  return (e) => {
    switch (e.type) {
      case 'start':
        plannedEpochs = e.epochs;
        ui.setState({ kind: 'training', epoch: e.startEpoch, epochs: e.epochs });
        break;
      case 'epochEnd':
        plannedEpochs = e.epochs; // the plan is fixed after the first epoch under a time limit
        break;
      case 'batchEnd':
        ui.setState({ kind: 'training', epoch: e.epoch, epochs: plannedEpochs, etaSeconds: e.etaSeconds });
        break;
      case 'log':
        ui.log[e.level === 'warn' ? 'warn' : 'info'](e.message);
        break;
      case 'done':
        ui.setState({ kind: 'idle', lastRmse: e.bestValRmse });
        ui.log.info(`training done (${e.reason}): best epoch ${e.bestEpoch}, validation RMSE ${e.bestValRmse.toFixed(3)} px, ${e.runDir}`);
        ui.progressDone();
        break;
      case 'error':
        ui.setState({ kind: 'error', message: e.message });
        ui.progressDone();
        if (!SHOWN_ELSEWHERE.includes(e.code)) ui.showError('training failed', e.message);
        break;
      case 'checkpoint':
        break;
    }
  };
}
