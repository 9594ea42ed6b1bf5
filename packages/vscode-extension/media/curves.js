// Learning curves: Plotly traces filled by `curves/reset` and extended by `curves/epoch` (see src/messages.ts).
(function () {
  const vscode = acquireVsCodeApi();
  const $ = (id) => document.getElementById(id);
  const dark = document.body.classList.contains('vscode-dark');
  const layout = (title, y, log) => ({
    title: { text: title, font: { size: 13 } },
    margin: { t: 36, r: 16, b: 40, l: 60 },
    paper_bgcolor: 'rgba(0,0,0,0)',
    plot_bgcolor: 'rgba(0,0,0,0)',
    font: { color: dark ? '#ccc' : '#333' },
    xaxis: { title: { text: 'epoch' }, gridcolor: dark ? '#444' : '#eee' },
    yaxis: { title: { text: y }, type: log ? 'log' : 'linear', gridcolor: dark ? '#444' : '#eee' },
    legend: { orientation: 'h', y: 1.12, x: 1, xanchor: 'right' },
  });
  const cfg = { displaylogo: false, responsive: true };
  function draw(metrics) {
    const ep = metrics.map((m) => m.epoch);
    Plotly.react('loss', [
      { x: ep, y: metrics.map((m) => m.trainLoss), name: 'train', mode: 'lines+markers' },
      { x: ep, y: metrics.map((m) => m.valLoss), name: 'validation', mode: 'lines+markers' },
    ], layout('Loss (masked MSE)', 'loss', true), cfg);
    Plotly.react('rmse', [{ x: ep, y: metrics.map((m) => m.valRmse), name: 'validation RMSE', mode: 'lines+markers', line: { color: '#2ca02c' } }], layout('Validation RMSE', 'pixels', false), cfg);
    Plotly.react('lr', [{ x: ep, y: metrics.map((m) => m.learningRate), name: 'learning rate', mode: 'lines', line: { color: '#9467bd' } }], layout('Learning rate', 'lr', false), cfg);
  }
  function points() {
    const d = $('loss').data;
    return d && d[0] ? d[0].x.length : 0;
  }
  function status(text) {
    $('status').textContent = text;
    $('status').dataset.points = String(points());
  }
  window.addEventListener('message', (event) => {
    const m = event.data;
    if (m.type === 'curves/reset') {
      $('title').textContent = 'Learning curves: ' + m.title;
      draw(m.metrics);
      vscode.setState({ runDir: m.runDir });
      status(m.metrics.length ? `${m.metrics.length} epochs` : 'training started…');
    } else if (m.type === 'curves/epoch') {
      const e = m.metrics;
      if (!$('loss').data) draw([]);
      Plotly.extendTraces('loss', { x: [[e.epoch], [e.epoch]], y: [[e.trainLoss], [e.valLoss]] }, [0, 1]);
      Plotly.extendTraces('rmse', { x: [[e.epoch]], y: [[e.valRmse]] }, [0]);
      Plotly.extendTraces('lr', { x: [[e.epoch]], y: [[e.learningRate]] }, [0]);
      status(`epoch ${e.epoch}/${e.epochs}: validation RMSE ${e.valRmse.toFixed(3)} px (points=${points()})`);
    } else if (m.type === 'curves/status') {
      status(m.text + ` (points=${points()})`);
    }
  });
  draw([]);
  vscode.postMessage({ type: 'ready' });
})();
