// Execution quality: latency percentiles over time, fill and rejection rates, slippage by
// broker, and recent traces with a span waterfall for the chosen one.

import { getJSON, query } from '../api.js';
import { clear, draw, pixelWidth } from '../charts.js';
import { el, emptyState } from '../dom.js';
import { clockTime, number, plainPercent } from '../format.js';
import { noDataHint } from '../hints.js';
import { columns, rangeWindow, thin } from '../series.js';
import { firstSeenMs, on, snapshotOf, state } from '../store.js';

const FIGURES = [
  ['orders', 'Orders', (v) => number(v, 0)],
  ['fill_rate', 'Fill rate', (v) => plainPercent(v)],
  ['rejection_rate', 'Rejected', (v) => plainPercent(v)],
  ['latency_p50_ms', 'Latency p50', (v) => (v === null ? '—' : `${number(v, 1)} ms`)],
  ['latency_p95_ms', 'p95', (v) => (v === null ? '—' : `${number(v, 1)} ms`)],
  ['latency_p99_ms', 'p99', (v) => (v === null ? '—' : `${number(v, 1)} ms`)],
  ['slippage_mean_bps', 'Slippage', (v) => (v === null ? '—' : `${number(v, 2)} bp`)],
];
const LATENCY_FIELDS = [['latency_p50_ms', 'p50'], ['latency_p95_ms', 'p95'],
                        ['latency_p99_ms', 'p99']];
const TRACE_REFRESH_MS = 2000;

export function mount() {
  const section = document.getElementById('execution');
  const figures = document.getElementById('execution-figures');
  const latencyNode = document.getElementById('chart-latency');
  const slippageNode = document.getElementById('chart-slippage');
  const traceList = document.getElementById('trace-list');
  const waterfall = document.getElementById('waterfall');
  let latency = null;
  let traces = [];
  let chosen = null;
  let traceTimer = null;

  function renderFigures() {
    const snap = snapshotOf();
    const reasons = (snap && snap.reasons) || {};
    figures.replaceChildren(...FIGURES.map(([field, label, format]) => {
      const value = snap && snap[field] !== undefined ? snap[field] : null;
      return el('div', { class: 'figure', dataset: { field } },
        el('dt', { text: label }),
        el('dd', { class: field === 'rejection_rate' && value > 0 ? 'neg' : '',
                   title: value === null ? reasons[field] || 'no orders yet' : null,
                   text: format(value) }));
    }));
    const brokers = Object.entries((snap && snap.by_broker) || {})
      .filter(([, b]) => b.slippage_mean_bps !== null && b.slippage_mean_bps !== undefined);
    if (brokers.length) {
      draw(slippageNode, [
        { x: brokers.map(([name]) => name), y: brokers.map(([, b]) => b.slippage_mean_bps),
          name: 'mean', type: 'bar' },
        { x: brokers.map(([name]) => name), y: brokers.map(([, b]) => b.slippage_p95_bps),
          name: 'p95', type: 'bar' },
      ], { xType: 'category', legend: true });
    } else {
      clear(slippageNode, 'No fills with slippage yet.');
    }
  }

  async function loadLatency() {
    const service = state.service;
    if (!service) return;
    const width = pixelWidth(latencyNode);
    try {
      const bodies = await Promise.all(LATENCY_FIELDS.map(([field]) => getJSON(
        '/api/v1/performance/history' + query({ service, field, ...rangeWindow(state.range, firstSeenMs(service)), max_points: width }))));
      latency = { service, series: bodies.map((body, i) => ({
        ...thin(columns(body), width), name: LATENCY_FIELDS[i][1], type: 'line' })) };
    } catch (error) {
      console.info('latency history unavailable', error.message);
    }
    renderLatency();
  }

  function renderLatency() {
    if (latency && latency.service === state.service
        && latency.series.some((s) => s.y.some((v) => v !== null))) {
      draw(latencyNode, latency.series, { legend: true });
    } else {
      clear(latencyNode, 'No order latency history yet.');
    }
  }

  async function loadTraces() {
    clearTimeout(traceTimer);
    traceTimer = null;
    const service = state.service;
    if (!service) return;
    try {
      const body = await getJSON('/api/v1/traces' + query({ service, limit: 15 }));
      traces = (body && body.traces) || [];
    } catch (error) {
      console.info('traces unavailable', error.message);
    }
    renderTraces();
  }

  function scheduleTraces() {
    if (!traceTimer) traceTimer = setTimeout(loadTraces, TRACE_REFRESH_MS);
  }

  function renderTraces() {
    traceList.replaceChildren(...traces.map((trace) => {
      const button = el('button', {
        type: 'button', class: `trace${trace.error ? ' error' : ''}`,
        'aria-pressed': String(trace.trace_id === chosen),
      },
      el('span', { class: 'trace-name', text: trace.root_name || trace.trace_id }),
      el('span', { class: 'trace-meta',
                   text: `${number(trace.duration_ms, 1)} ms · ${trace.span_count} spans · `
                     + clockTime(trace.start_time_unix_nano) }));
      button.addEventListener('click', () => showTrace(trace.trace_id));
      return el('li', {}, button);
    }));
    if (!traces.length) {
      traceList.replaceChildren(el('li', { class: 'muted',
        text: 'No traces yet — decorate order code with @tradepulse.traced.' }));
    }
  }

  async function showTrace(traceId) {
    chosen = traceId;
    renderTraces();
    waterfall.replaceChildren(el('p', { class: 'muted', text: 'Loading trace…' }));
    try {
      const body = await getJSON(`/api/v1/traces/${encodeURIComponent(traceId)}`);
      renderWaterfall((body && body.spans) || []);
    } catch (error) {
      waterfall.replaceChildren(el('p', { class: 'muted', text: `Trace unavailable: ${error.message}` }));
    }
  }

  function renderWaterfall(spans) {
    if (!spans.length) {
      waterfall.replaceChildren(el('p', { class: 'muted', text: 'This trace has no spans stored.' }));
      return;
    }
    const start = Math.min(...spans.map((s) => s.start_time_unix_nano));
    const end = Math.max(...spans.map((s) => s.end_time_unix_nano));
    const total = Math.max(1, end - start);
    const depth = new Map();
    const byId = new Map(spans.map((s) => [s.span_id, s]));
    const level = (span) => {
      if (depth.has(span.span_id)) return depth.get(span.span_id);
      depth.set(span.span_id, 0);  // a malformed parent cycle ends here
      const parent = byId.get(span.parent_span_id);
      const value = parent && parent !== span ? Math.min(level(parent) + 1, 8) : 0;
      depth.set(span.span_id, value);
      return value;
    };
    const ordered = [...spans].sort((a, b) => a.start_time_unix_nano - b.start_time_unix_nano);
    waterfall.replaceChildren(
      el('p', { class: 'waterfall-head', text: `${ordered.length} spans · ${number(total / 1e6, 2)} ms` }),
      ...ordered.map((span) => {
        const bar = el('span', { class: `bar${span.status && span.status.code === 'error' ? ' error' : ''}` });
        bar.style.left = `${((span.start_time_unix_nano - start) / total) * 100}%`;
        bar.style.width = `${Math.max(0.5, ((span.end_time_unix_nano - span.start_time_unix_nano) / total) * 100)}%`;
        const label = el('span', { class: 'span-label',
                                   text: `${span.name} · ${number(span.duration_ms, 2)} ms` });
        label.style.paddingLeft = `${level(span) * 0.75}rem`;
        return el('div', { class: 'span-row', title: span.service },
          label, el('span', { class: 'track' }, bar));
      }));
  }

  function renderAll() {
    const message = state.services.length ? '' : noDataHint();
    emptyState(section, message);
    renderFigures();
    renderLatency();
  }

  let queued = null;
  function requestLoad() {
    if (!queued) queued = setTimeout(() => { queued = null; loadLatency(); loadTraces(); }, 0);
  }

  function serviceChanged() {
    chosen = null;
    traces = [];
    latency = null;
    waterfall.replaceChildren(el('p', { class: 'muted', text: 'Choose a trace to see its spans.' }));
    renderAll();
    requestLoad();
  }

  on('performance', renderFigures);
  on('services', renderAll);
  on('service', serviceChanged);
  on('snapshot', requestLoad);
  on('range', loadLatency);
  on('span', scheduleTraces);
  on('tick', scheduleTraces);
  on('redraw', renderAll);
  serviceChanged();
}
