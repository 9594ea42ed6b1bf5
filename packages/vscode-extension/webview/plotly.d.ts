// The little of plotly.js-dist's global `Plotly` the curves page uses (the package ships no types).
interface PlotlyTrace {
  x: number[];
  y: number[];
  name: string;
  mode: 'lines' | 'markers' | 'lines+markers';
  line?: { color?: string; dash?: string };
}
interface PlotlyElement extends HTMLElement {
  data?: PlotlyTrace[];
}
declare const Plotly: {
  version: string;
  react(el: string | HTMLElement, data: PlotlyTrace[], layout: Record<string, unknown>, config?: Record<string, unknown>): Promise<PlotlyElement>;
};
