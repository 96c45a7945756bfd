// The layout (GET /api/v1/layouts/NAME): orders and titles the built-in sections, hides those
// it leaves out, and renders its other panels — any ingested metric (`source: metric`) as a
// line/area/bar chart, a stat or a table; performance figures as stats or history charts.

import { getJSON, query } from '../api.js';
import { clear, draw, pixelWidth } from '../charts.js';
import { el } from '../dom.js';
import { number, percent, toDate } from '../format.js';
import { columns, rangeWindow, thin } from '../series.js';
import { emit, firstSeenMs, on, snapshotOf, state } from '../store.js';

const BUILTIN = ['bots', 'overview', 'performance', 'health', 'alerts', 'positions', 'execution'];
const BUILTIN_SOURCES = new Set(['services', 'positions', 'health', 'alerts', 'traces']);
const RELOAD_DELAY_MS = 1000;
const panels = [];

export async function loadLayout(name) {
  try {
    const layout = await getJSON(`/api/v1/layouts/${encodeURIComponent(name)}`);
    if (layout) state.layout = layout;
    else if (state.layout === undefined) state.layout = null;
  } catch (error) {
    console.info('layout unavailable', error.message);
    if (state.layout === undefined) state.layout = null;
  }
  emit('layout');
}

/** Names of the ingested metrics the layout charts. */
export function layoutMetrics() {
  const found = new Set();
  for (const section of (state.layout && state.layout.sections) || []) {
    for (const panel of section.panels || []) if (panel.metric) found.add(panel.metric);
  }
  return [...found];
}

function seriesLabel(series) {
  const attrs = Object.entries(series.attributes || {}).map(([k, v]) => `${k.replace(/^trading\./, '')}=${v}`);
  return attrs.length ? attrs.join(' ') : series.name || 'value';
}

class MetricPanel {
  constructor(spec, box) {
    this.spec = spec;
    this.box = box;
    this.body = el('div', { class: spec.chart === 'table' || spec.chart === 'stat' ? 'panel-body' : 'chart small' });
    box.append(this.body);
    this.timer = null;
  }

  schedule() {
    if (!this.timer) this.timer = setTimeout(() => this.load(), RELOAD_DELAY_MS);
  }

  async load() {
    clearTimeout(this.timer);
    this.timer = null;
    const { spec } = this;
    const width = pixelWidth(this.body);
    const params = { name: spec.metric, service: state.service, fn: spec.fn, ...rangeWindow('1d', firstSeenMs()),
                     max_points: width, format: 'columnar' };
    for (const [key, value] of Object.entries(spec.attributes || {})) params[`attr.${key}`] = value;
    try {
      const body = await getJSON('/api/v1/metrics' + query(params));
      this.series = ((body && body.series) || []).map((s) => ({
        label: seriesLabel(s), unit: s.unit, ...thin(columns(s), width) }));
    } catch (error) {
      this.series = [];
      this.error = error.message;
    }
    this.render();
  }

  render() {
    const { spec } = this;
    const series = (this.series || []).filter((s) => s.x.length);
    if (!series.length) {
      const text = this.error ? `Unavailable: ${this.error}`
        : `No ${spec.metric} points from ${state.service || 'any bot'} in the last day.`;
      if (this.body.classList.contains('chart')) clear(this.body, text);
      else this.body.replaceChildren(el('p', { class: 'chart-empty', text }));
      return;
    }
    const unit = spec.unit || series[0].unit || '';
    if (spec.chart === 'stat') {
      this.body.replaceChildren(...series.map((s) => el('div', { class: 'stat' },
        el('span', { class: 'stat-value', text: `${number(s.y[s.y.length - 1], 4)}${unit && unit !== '1' ? ` ${unit}` : ''}` }),
        series.length > 1 ? el('span', { class: 'stat-label', text: s.label }) : null)));
    } else if (spec.chart === 'table') {
      this.body.replaceChildren(el('div', { class: 'table-wrap' }, el('table', { class: 'data-table' },
        el('thead', {}, el('tr', {}, el('th', { text: 'Series' }), el('th', { class: 'num', text: 'Latest' }),
          el('th', { class: 'num', text: 'Time' }))),
        el('tbody', {}, series.map((s) => el('tr', {},
          el('th', { scope: 'row', text: s.label }),
          el('td', { class: 'num', text: number(s.y[s.y.length - 1], 4) }),
          el('td', { class: 'num', text: toDate(s.x[s.x.length - 1])?.toLocaleTimeString() ?? '—' })))))));
    } else {
      draw(this.body, series.map((s) => ({ x: s.x, y: s.y, name: s.label, type: spec.chart })),
           { legend: series.length > 1, yTitle: unit && unit !== '1' ? unit : '' });
    }
  }
}

class FigurePanel {
  constructor(spec, box) {
    this.spec = spec;
    this.body = el('dl', { class: 'figures compact' });
    box.append(this.body);
  }

  load() { this.render(); }

  schedule() {}

  render() {
    const snap = snapshotOf();
    this.body.replaceChildren(...this.spec.fields.map((field) => {
      const value = snap ? snap[field] ?? null : null;
      const ratio = /return|drawdown|rate|share/.test(field);
      return el('div', { class: 'figure', dataset: { field } }, el('dt', { text: field.replace(/_/g, ' ') }),
        el('dd', { text: ratio ? percent(value) : number(value) }));
    }));
  }
}

class HistoryPanel {
  constructor(spec, box) {
    this.spec = spec;
    this.body = el('div', { class: 'chart small' });
    box.append(this.body);
  }

  schedule() {}

  async load() {
    const width = pixelWidth(this.body);
    const service = state.service;
    if (!service) return;
    const bodies = await Promise.all(this.spec.fields.map((field) => getJSON(
      '/api/v1/performance/history' + query({ service, field, ...rangeWindow('1d', firstSeenMs(service)), max_points: width }))
      .catch(() => null)));
    this.series = bodies.map((body, i) => ({ ...thin(columns(body), width), name: this.spec.fields[i],
                                             type: this.spec.chart === 'stat' ? 'line' : this.spec.chart }));
    this.render();
  }

  render() {
    if (this.series && this.series.some((s) => s.x.length)) {
      draw(this.body, this.series, { legend: this.series.length > 1 });
    } else {
      clear(this.body, 'No history yet.');
    }
  }
}

function panelFor(spec, box) {
  if (spec.source === 'metric') return new MetricPanel(spec, box);
  if (spec.source === 'performance_history') return new HistoryPanel(spec, box);
  if ((spec.source === 'performance' || spec.source === 'execution') && spec.fields?.length) {
    return new FigurePanel(spec, box);
  }
  return null;
}

export function mount() {
  const container = document.getElementById('custom-panels');
  const main = document.getElementById('sections');

  function build() {
    panels.length = 0;
    container.replaceChildren();
    const layout = state.layout;
    if (!layout || !Array.isArray(layout.sections)) {
      for (const id of BUILTIN) document.getElementById(id).hidden = false;
      return;
    }
    const listed = new Set(layout.sections.map((s) => s.id));
    for (const id of BUILTIN) document.getElementById(id).hidden = !listed.has(id);
    for (const section of layout.sections) {
      const builtin = BUILTIN.includes(section.id) ? document.getElementById(section.id) : null;
      const extra = (section.panels || []).filter((p) => (builtin ? p.source === 'metric'
        : !BUILTIN_SOURCES.has(p.source)));
      if (builtin) {
        const title = builtin.querySelector('h2');
        if (title && section.title && title.firstChild) title.firstChild.textContent = `${section.title} `;
        main.insertBefore(builtin, container);
      }
      if (!extra.length) continue;
      const host = builtin || container.appendChild(el('section', {
        class: 'card wide custom', id: `section-${section.id}`, 'aria-label': section.title },
      el('h2', { text: section.title })));
      const grid = el('div', { class: 'panel-grid' });
      host.append(grid);
      for (const spec of extra) {
        const box = el('figure', { class: `panel chart-box w${spec.width || 1}`, dataset: { panel: spec.id } },
          el('figcaption', { text: spec.title }));
        const panel = panelFor(spec, box);
        if (!panel) continue;
        grid.append(box);
        panels.push(panel);
      }
    }
    main.append(container);
    for (const panel of panels) panel.load();
  }

  on('layout', () => {
    const key = JSON.stringify(state.layout ?? null);
    if (key === mount.lastKey) return;
    mount.lastKey = key;
    build();
  });
  on('service', () => panels.forEach((p) => p.load()));
  on('snapshot', () => panels.forEach((p) => p.load()));
  on('performance', () => panels.forEach((p) => p instanceof FigurePanel && p.render()));
  on('metric', (message) => {
    const name = message && message.data && message.data.name;
    for (const panel of panels) if (panel.spec.metric === name) panel.schedule();
  });
  on('tick', () => panels.forEach((p) => p.schedule()));
  on('redraw', () => panels.forEach((p) => p.render()));
}
