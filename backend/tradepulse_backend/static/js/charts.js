// plotly.js wrappers: one place that turns series into themed, responsive charts.

const CONFIG = { displayModeBar: false, responsive: true, staticPlot: false };

function css(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

export function palette() {
  return {
    text: css('--muted') || '#666',
    grid: css('--grid') || '#ddd',
    accent: css('--accent') || '#1f6feb',
    pos: css('--pos') || '#1a7f37',
    neg: css('--neg') || '#cf222e',
    series: [css('--accent'), css('--series-2'), css('--series-3'), css('--series-4')],
  };
}

function baseLayout(extra = {}) {
  const colors = palette();
  return {
    autosize: true,
    margin: { l: 48, r: 8, t: 6, b: 28 },
    paper_bgcolor: 'rgba(0,0,0,0)',
    plot_bgcolor: 'rgba(0,0,0,0)',
    font: { color: colors.text, size: 11 },
    showlegend: false,
    xaxis: { gridcolor: colors.grid, zeroline: false, type: 'date' },
    yaxis: { gridcolor: colors.grid, zerolinecolor: colors.grid, automargin: true },
    hovermode: 'x unified',
    ...extra,
  };
}

export function plotlyReady() {
  return typeof window.Plotly !== 'undefined';
}

let loading = null;

/**
 * Load plotly.js (served by the backend from the `plotly` package) after the page's figures
 * are up: its 4-5 MB take seconds to parse on a busy machine, and nothing but charts needs it.
 * Resolves when `window.Plotly` exists; charts drawn before then are redrawn by the caller.
 */
export function loadPlotly() {
  if (plotlyReady()) return Promise.resolve();
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const script = document.createElement('script');
      script.src = '/vendor/plotly.min.js';
      script.async = true;
      script.addEventListener('load', () => resolve());
      script.addEventListener('error', () => {
        loading = null;
        reject(new Error('plotly.js did not load'));
      });
      document.head.append(script);
    });
  }
  return loading;
}

/** Width of a chart's box in CSS pixels: the most points worth asking the server for. */
export function pixelWidth(node) {
  return Math.max(50, Math.round(node.getBoundingClientRect().width || node.clientWidth || 300));
}

/**
 * Draw traces into `node`. Each trace: {x, y, name, type: line|area|bar, color}.
 * Returns false (and draws nothing) when there is nothing to show.
 */
export function draw(node, traces, {
  yFormat = '', yTitle = '', legend = false, xType, yRange,
} = {}) {
  if (!plotlyReady()) {
    clear(node, 'Loading chart…');
    return false;
  }
  node.querySelector(':scope > .chart-empty')?.remove();
  const colors = palette();
  const data = traces.map((trace, index) => {
    const color = trace.color || colors.series[index % colors.series.length] || colors.accent;
    if (trace.type === 'bar') {
      return { x: trace.x, y: trace.y, name: trace.name, type: 'bar',
               marker: { color: trace.colors || color } };
    }
    return {
      x: trace.x, y: trace.y, name: trace.name, type: 'scatter', mode: 'lines',
      line: { color, width: 1.5 },
      fill: trace.type === 'area' ? 'tozeroy' : undefined,
      fillcolor: trace.type === 'area' ? trace.fillcolor : undefined,
    };
  });
  const layout = baseLayout({ showlegend: legend,
                              legend: { orientation: 'h', y: 1.15, x: 0 } });
  layout.yaxis.tickformat = yFormat;
  if (yTitle) layout.yaxis.title = { text: yTitle };
  if (xType) layout.xaxis.type = xType;
  const bars = Math.max(0, ...traces.filter((t) => t.type === 'bar').map((t) => t.x.length));
  if (bars) layout.bargap = Math.max(0.15, 0.85 - 0.1 * bars);
  if (yRange) layout.yaxis.range = yRange;
  window.Plotly.react(node, data, layout, CONFIG);
  node.classList.add('has-chart');
  return true;
}

export function clear(node, message) {
  if (plotlyReady() && node.classList.contains('has-chart')) window.Plotly.purge(node);
  node.classList.remove('has-chart');
  node.replaceChildren();
  if (message) {
    const note = document.createElement('p');
    note.className = 'chart-empty';
    note.textContent = message;
    node.append(note);
  }
}

/** Re-theme every drawn chart (the theme toggle changes colours held by plotly). */
export function restyleAll() {
  if (!plotlyReady()) return;
  const colors = palette();
  for (const node of document.querySelectorAll('.chart.has-chart')) {
    window.Plotly.relayout(node, {
      'font.color': colors.text,
      'xaxis.gridcolor': colors.grid,
      'yaxis.gridcolor': colors.grid,
      'yaxis.zerolinecolor': colors.grid,
    });
  }
}
