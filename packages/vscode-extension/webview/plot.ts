// What the plotly pages share: the theme-aware layout of one chart and the plot options.
const dark = document.body.classList.contains('vscode-dark') || document.body.classList.contains('vscode-high-contrast');
const grid = dark ? '#444' : '#e5e5e5';

export const plotConfig = { displaylogo: false, responsive: true };

/** A chart's layout against the editor's theme; `legend` overrides the horizontal legend above the chart. */
export function layout(title: string, y: string, extra: Record<string, unknown> = {}, legend: Record<string, unknown> = { orientation: 'h', y: 1.14, x: 1, xanchor: 'right' }): Record<string, unknown> {
  return {
    title: { text: title, font: { size: 13 } },
    margin: { t: 36, r: 16, b: 40, l: 64 },
    paper_bgcolor: 'rgba(0,0,0,0)',
    plot_bgcolor: 'rgba(0,0,0,0)',
    font: { color: dark ? '#ccc' : '#333' },
    xaxis: { title: { text: 'epoch' }, gridcolor: grid, rangemode: 'tozero' },
    yaxis: { title: { text: y }, gridcolor: grid, ...extra },
    legend,
    showlegend: true,
  };
}
