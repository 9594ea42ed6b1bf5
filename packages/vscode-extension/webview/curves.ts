// Learning curves: loss (train and validation), validation RMSE in pixels and the learning rate per
// epoch, redrawn with Plotly.react on every message (cheap at a few hundred epochs).
import type { CurvesState, EpochMetrics } from '@keypoints/core/protocol';
import { byId, connect } from './api';
import { layout, plotConfig as config } from './plot';

let metrics: EpochMetrics[] = [];

function draw(): void {
  const ep = metrics.map((m) => m.epoch);
  void Plotly.react(
    'loss',
    [
      { x: ep, y: metrics.map((m) => m.trainLoss), name: 'train', mode: 'lines+markers' },
      { x: ep, y: metrics.map((m) => m.valLoss), name: 'validation', mode: 'lines+markers' },
    ],
    layout('Loss (masked MSE, normalised coordinates)', 'loss', { type: 'log', tickformat: '.2~g' }),
    config,
  );
  void Plotly.react('rmse', [{ x: ep, y: metrics.map((m) => m.valRmse), name: 'validation RMSE', mode: 'lines+markers', line: { color: '#2ca02c' } }], layout('Validation RMSE', 'pixels'), config);
  // A constant rate would otherwise autorange to [rate-1, rate+1]: pin the axis to [0, max].
  const maxLr = Math.max(0, ...metrics.map((m) => m.learningRate));
  void Plotly.react(
    'lr',
    [{ x: ep, y: metrics.map((m) => m.learningRate), name: 'learning rate', mode: 'lines+markers', line: { color: '#9467bd' } }],
    layout('Learning rate', 'rate', maxLr > 0 ? { range: [0, maxLr * 1.1], exponentformat: 'e' } : {}),
    config,
  );
}

/** Epochs drawn one at a time as they arrived (not restored from a finished run's file). */
let liveEpochs = 0;

/**
 * Points on the loss chart, read back from Plotly, and the live epochs: the e2e test watches the
 * points grow, or, when a short run is over before it looks, sees that they arrived one by one.
 */
function status(text: string): void {
  const n = (byId<PlotlyElement>('loss').data?.[0]?.x.length ?? 0);
  const el = byId('status');
  el.textContent = `${text} (points=${n})`;
  el.dataset.points = String(n);
  el.dataset.live = String(liveEpochs);
}

const vscode = connect<CurvesState>((m) => {
  if (m.type === 'curves/reset') {
    byId('title').textContent = `Learning curves: ${m.title}`;
    metrics = [...m.metrics];
    vscode.setState({ runDir: m.runDir });
    draw();
    status(metrics.length ? `${metrics.length} epochs` : 'training started…');
  } else if (m.type === 'curves/epoch') {
    const e = m.metrics;
    metrics = metrics.filter((x) => x.epoch < e.epoch).concat(e); // a resumed run repeats no epoch
    liveEpochs++;
    draw();
    status(`epoch ${e.epoch}/${e.epochs}: validation RMSE ${e.valRmse.toFixed(3)} px`);
  } else if (m.type === 'curves/status') {
    status(m.text);
  }
});
draw();
