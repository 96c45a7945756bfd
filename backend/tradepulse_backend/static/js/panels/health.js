// System health: host CPU and memory over time, component status lights with their reasons,
// and the bots' processes. Until the health monitor answers, an honest empty state.

import { getJSON, query } from '../api.js';
import { clear, draw, pixelWidth } from '../charts.js';
import { el, emptyState } from '../dom.js';
import { ago, bytes, number } from '../format.js';
import { columns, thin } from '../series.js';
import { on, state } from '../store.js';

const FIGURES = [['cpu_usage', 'chart-cpu', 'cpu_percent'],
                 ['memory_usage', 'chart-memory', 'memory_percent']];
const HISTORY_EVERY_MS = 60000;

export function mount() {
  const section = document.getElementById('health');
  const badge = document.getElementById('health-status');
  const components = document.getElementById('components');
  const processes = document.getElementById('processes').querySelector('tbody');
  const series = {};
  let loadedAt = 0;
  let historyMissing = false;

  async function loadHistory() {
    loadedAt = Date.now();
    await Promise.all(FIGURES.map(async ([figure, id]) => {
      const node = document.getElementById(id);
      const width = pixelWidth(node);
      try {
        const body = await getJSON('/api/v1/health/history'
          + query({ figure, since: '1d', max_points: width }));
        historyMissing = body === null;
        series[figure] = body ? thin(columns(body), width) : null;
      } catch (error) {
        console.info('health history unavailable', error.message);
      }
    }));
    renderCharts();
  }

  function appendLive() {
    const metrics = state.health && state.health.metrics;
    if (!metrics) return;
    const now = new Date();
    for (const [figure, , key] of FIGURES) {
      const s = series[figure];
      if (s && typeof metrics[key] === 'number') {
        s.x.push(now);
        s.y.push(metrics[key]);
      }
    }
  }

  function renderCharts() {
    for (const [figure, id] of FIGURES) {
      const node = document.getElementById(id);
      const s = series[figure];
      if (s && s.x.length) {
        draw(node, [{ ...s, name: figure, type: 'area', fillcolor: 'rgba(31,111,235,0.15)' }],
             { yTitle: '%', yRange: [0, 100] });
      } else {
        clear(node, historyMissing ? 'Host history is not available on this server.'
          : 'No samples yet.');
      }
    }
  }

  function render() {
    const health = state.health;
    if (health === undefined) return;
    if (!health) {
      badge.textContent = '';
      badge.dataset.status = '';
      components.replaceChildren();
      processes.replaceChildren();
      emptyState(section, 'Host and component health appear here once the health monitor '
        + 'runs (GET /api/v1/health is not available on this server).');
      renderCharts();
      return;
    }
    emptyState(section, '');
    badge.textContent = health.status || '';
    badge.dataset.status = health.status || '';
    const reasonsBy = {};
    for (const reason of health.reasons || []) {
      (reasonsBy[reason.name] ||= []).push(reason.message);
    }
    const list = health.components || [];
    components.replaceChildren(...(list.length ? list.map((c) => el('li', {
      class: 'light', dataset: { status: c.status || 'unknown' },
      title: c.last_seen ? `last seen ${ago(c.last_seen)}` : null,
    },
    el('span', { class: 'dot', 'aria-hidden': 'true' }),
    el('span', { class: 'light-name', text: c.name }),
    el('span', { class: 'light-status', text: c.status || 'unknown' }),
    (c.message || reasonsBy[c.name])
      ? el('span', { class: 'light-reason', text: c.message || reasonsBy[c.name].join('; ') })
      : null))
      : [el('li', { class: 'muted', text: 'No components registered.' })]));
    const bots = health.bots || [];
    processes.replaceChildren(...(bots.length ? bots.map((b) => el('tr', {},
      el('th', { scope: 'row', text: b.service }),
      el('td', { class: 'num', text: b.cpu_percent === null || b.cpu_percent === undefined
        ? '—' : `${number(b.cpu_percent, 1)}%` }),
      el('td', { class: 'num', text: bytes(b.rss_bytes) }),
      el('td', { class: 'num', text: number(b.threads, 0) }),
      el('td', { class: 'num', text: ago(b.last_seen) })))
      : [el('tr', {}, el('td', { colspan: '5', class: 'muted',
          text: 'No bot process metrics — configure the SDK with system_metrics=True.' }))]));
    if (Date.now() - loadedAt > HISTORY_EVERY_MS) loadHistory();
    else {
      appendLive();
      renderCharts();
    }
  }

  on('health', render);
  on('redraw', renderCharts);
}
