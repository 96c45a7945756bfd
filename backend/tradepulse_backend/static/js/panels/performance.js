// Performance charts: equity curve, daily-return bars and the underwater (drawdown) chart,
// over a chosen range, asking the server for no more points than the chart has pixels.

import { getJSON, query } from '../api.js';
import { clear, draw, palette, pixelWidth } from '../charts.js';
import { emptyState } from '../dom.js';
import { toDate } from '../format.js';
import { noDataHint } from '../hints.js';
import { columns, lastPerDay, rangeWindow, thin } from '../series.js';
import { emit, firstSeenMs, on, snapshotOf, state } from '../store.js';

const RANGE_KEY = 'tradepulse.range';

export function mount() {
  const section = document.getElementById('performance');
  const nodes = {
    equity: document.getElementById('chart-equity'),
    returns: document.getElementById('chart-returns'),
    drawdown: document.getElementById('chart-drawdown'),
  };
  const buttons = [...section.querySelectorAll('[data-range]')];
  let range = readRange();
  state.range = range;
  let data = null;
  let loading = 0;

  function readRange() {
    try {
      const saved = localStorage.getItem(RANGE_KEY);
      if (buttons.some((b) => b.dataset.range === saved)) return saved;
    } catch { /* no storage: default range */ }
    return 'all';
  }

  function pressButtons() {
    for (const button of buttons) {
      button.setAttribute('aria-pressed', String(button.dataset.range === range));
    }
  }

  for (const button of buttons) {
    button.addEventListener('click', () => {
      range = button.dataset.range;
      try { localStorage.setItem(RANGE_KEY, range); } catch { /* ignore */ }
      state.range = range;
      pressButtons();
      load();
      emit('range', range);
    });
  }

  async function history(service, field, width) {
    const body = await getJSON('/api/v1/performance/history' + query({
      service, field, ...rangeWindow(range, firstSeenMs(service)), max_points: width,
    }));
    return thin(columns(body), width);
  }

  async function load() {
    const service = state.service;
    if (!service) {
      data = null;
      render();
      return;
    }
    const ticket = ++loading;
    const width = pixelWidth(nodes.equity);
    try {
      const [equity, daily, drawdown] = await Promise.all([
        history(service, 'portfolio_value', width),
        history(service, 'daily_return', width),
        history(service, 'current_drawdown', width),
      ]);
      if (ticket !== loading) return;
      data = { service, equity, daily, drawdown };
    } catch (error) {
      if (ticket !== loading) return;
      console.info('performance history unavailable', error.message);
    }
    render();
  }

  /** Append the newest snapshot so the charts move between history loads. */
  function appendLive() {
    const snap = snapshotOf();
    if (!data || !snap || data.service !== snap.service) return;
    const at = toDate(snap.timestamp);
    const last = data.equity.x[data.equity.x.length - 1];
    if (!at || (last && at <= last)) return;
    for (const [series, field] of [[data.equity, 'portfolio_value'],
                                   [data.daily, 'daily_return'],
                                   [data.drawdown, 'current_drawdown']]) {
      if (snap[field] === null || snap[field] === undefined) continue;
      series.x.push(at);
      series.y.push(snap[field]);
    }
    render();
  }

  function render() {
    if (!state.services.length) {
      emptyState(section, noDataHint());
      Object.values(nodes).forEach((node) => clear(node));
      return;
    }
    const hasHistory = data && data.equity.x.length > 0;
    emptyState(section, hasHistory ? '' : `No history for ${state.service} in this range yet — `
      + 'the backend stores a performance snapshot every minute while the bot reports a value.');
    if (!hasHistory) {
      Object.values(nodes).forEach((node) => clear(node));
      return;
    }
    const colors = palette();
    draw(nodes.equity, [{ ...data.equity, name: 'Equity', type: 'line' }]);
    const daily = lastPerDay(data.daily);
    if (daily.x.length) {
      draw(nodes.returns, [{ ...daily, name: 'Daily return', type: 'bar',
        colors: daily.y.map((v) => (v < 0 ? colors.neg : colors.pos)) }],
           { yFormat: '.2%', xType: 'category' });
    } else {
      clear(nodes.returns, 'No daily return yet.');
    }
    draw(nodes.drawdown, [{ ...data.drawdown, name: 'Drawdown', type: 'area',
      color: colors.neg, fillcolor: 'rgba(207,34,46,0.25)' }], { yFormat: '.1%' });
  }

  let queued = null;
  /** Several triggers in one turn (a snapshot sets the service too) make one load. */
  function requestLoad() {
    if (!queued) queued = setTimeout(() => { queued = null; load(); }, 0);
  }

  pressButtons();
  on('service', requestLoad);
  on('snapshot', requestLoad);
  on('performance', appendLive);
  on('redraw', render);
  requestLoad();
}
