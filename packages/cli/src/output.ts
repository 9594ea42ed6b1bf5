import cliProgress from 'cli-progress';
import { formatBreakdown, type TrainingEvent, type TrainSettings } from '@keypoints/core';
import { colours as c, isQuiet } from './style.js';

export type OutputMode = 'tty' | 'plain' | 'json';

export function outputMode(json: boolean | undefined): OutputMode {
  if (json) return 'json';
  return process.stderr.isTTY ? 'tty' : 'plain';
}

const fmtTime = (s: number): string => {
  if (!Number.isFinite(s) || s < 0) return '?';
  const m = Math.floor(s / 60), sec = Math.round(s % 60);
  return m >= 60 ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m` : `${m}:${String(sec).padStart(2, '0')}`;
};

const num = (v: number) => String(Number(v.toPrecision(3)));
export const epochs = (n: number | 'auto') => (n === 'auto' ? 'epochs to fill the time limit' : `${n} epoch${n === 1 ? '' : 's'}`);

/** The key hyper-parameters in one line: "preset default: 60 epochs, batch 32, adam lr 0.002, cosine schedule, …". */
export function settingsLine(s: TrainSettings): string {
  const a = s.augment;
  const aug = [a.flip && 'flip', a.shift && `shift ${a.shift}px`, a.rotate && `rotate ${a.rotate}°`, a.scale && `scale ${a.scale}`, a.brightness && `brightness ${a.brightness}`].filter(Boolean).join(' ') || 'none';
  return [
    `preset ${s.preset}: ${epochs(s.epochs)}${s.timeLimitMinutes ? (s.epochs === 'auto' ? ` (${s.timeLimitMinutes} min)` : ` (or what fits in ${s.timeLimitMinutes} min)`) : ''}, batch ${s.batchSize}, ${s.optimizer} lr ${num(s.learningRate)}${s.loss && s.loss !== 'mse' ? `, ${s.loss} loss` : ''}${s.ema ? `, EMA ${s.ema}` : ''}`,
    `${s.schedule} schedule${s.warmupEpochs ? `, warm-up ${num(s.warmupEpochs)} epochs` : ''}${s.freezeEpochs ? `, head alone for ${num(s.freezeEpochs)} epochs` : ''}`,
    `patience ${s.patience || 'off'}, seed ${s.seed}, augment ${aug}`,
  ].join(', ');
}

/**
 * Prints training events: a progress bar with ETA on a terminal, one line per epoch otherwise,
 * or one JSON object per line with --json (for scripts and CI logs).
 */
export function trainingPrinter(mode: OutputMode): { onEvent: (e: TrainingEvent) => void; close: () => void } {
  if (mode === 'json') return { onEvent: (e) => process.stdout.write(JSON.stringify(e) + '\n'), close: () => {} };
  let bar: cliProgress.SingleBar | undefined;
  const line = (s: string) => {
    if (bar) bar.stop();
    bar = undefined;
    process.stderr.write(s + '\n');
  };
  const quiet = isQuiet();
  const onEvent = (e: TrainingEvent): void => {
    // --quiet keeps what a script or a person must see: the result, warnings and errors.
    if (quiet && !(e.type === 'done' || e.type === 'error' || (e.type === 'log' && e.level === 'warn'))) return;
    switch (e.type) {
      case 'start':
        line(
          `training on ${e.synthetic ? 'a generated synthetic face set (no --data given)' : e.dataSource}: ${e.trainCount} train / ${e.valCount} validation rows, ${e.keypoints.length} keypoints\n` +
            (e.settings ? settingsLine(e.settings) + '\n' : '') +
            `backend: ${e.backendNote}\nnetwork: ${(e.parameters / 1e6).toFixed(2)} M parameters, ${(e.flopsPerImage / 1e6).toFixed(1)} MFLOP per image; run folder: ${e.runDir}`,
        );
        break;
      case 'batchEnd':
        if (mode !== 'tty') break;
        if (!bar) {
          bar = new cliProgress.SingleBar(
            { format: 'epoch {epoch} [{bar}] {value}/{total} | loss {loss} | {ips} img/s | ETA {eta_run}', hideCursor: true, clearOnComplete: true, stream: process.stderr },
            cliProgress.Presets.shades_classic,
          );
          bar.start(e.batches, 0, { epoch: e.epoch, loss: '-', ips: '-', eta_run: '?' });
        }
        bar.update(e.batch, { epoch: e.epoch, loss: e.loss.toFixed(5), ips: e.imagesPerSecond.toFixed(1), eta_run: fmtTime(e.etaSeconds) });
        break;
      case 'epochEnd':
        line(
          `epoch ${e.epoch}/${e.epochs || '?'}  train loss ${e.trainLoss.toFixed(5)}  val loss ${e.valLoss.toFixed(5)}  val RMSE ${e.valRmse.toFixed(3)} px  lr ${e.learningRate.toExponential(2)}  ${e.seconds.toFixed(1)} s  ${e.imagesPerSecond.toFixed(1)} img/s${e.best ? c.green('  *best') : ''}`,
        );
        break;
      case 'log':
        line(`${e.level === 'warn' ? c.yellow('warning: ') : ''}${e.message}`);
        break;
      case 'done':
        line(`${c.green('done')} (${e.reason}) after ${e.epochsRun} epochs in ${fmtTime(e.seconds)}: best epoch ${e.bestEpoch}, validation RMSE ${c.bold(e.bestValRmse.toFixed(3) + ' px')}`);
        if (e.timeBreakdownSeconds) line(`time: ${formatBreakdown(e.timeBreakdownSeconds)}`);
        line(`run folder: ${e.runDir}`);
        break;
      case 'error':
        line(`${c.red('error:')} ${e.message}`);
        break;
      case 'checkpoint':
        break;
    }
  };
  return { onEvent, close: () => bar?.stop() };
}
