// Page start-up: read the dashboard config, mount the panels, then keep them live over the
// WebSocket (falling back to REST polling) — every panel renders from store.js.

import { getJSON } from './api.js';
import { loadPlotly } from './charts.js';
import { LiveConnection } from './live.js';
import * as alerts from './panels/alerts.js';
import * as bots from './panels/bots.js';
import * as custom from './panels/custom.js';
import * as execution from './panels/execution.js';
import * as health from './panels/health.js';
import * as overview from './panels/overview.js';
import * as performance from './panels/performance.js';
import * as positions from './panels/positions.js';
import { emit, on, setPerformance, setServices, state, upsertAlert } from './store.js';
import { initTheme } from './theme.js';

const STATUS_TEXT = {
  connecting: 'connecting…',
  live: 'live',
  polling: 'polling',
  reconnecting: 'reconnecting…',
  offline: 'offline',
};

function layoutName() {
  return new URLSearchParams(location.search).get('layout') || state.config.layout || 'default';
}

function showStatus(name, detail) {
  state.connection = name;
  const node = document.getElementById('connection');
  node.dataset.state = name;
  node.textContent = STATUS_TEXT[name] || name;
  node.title = detail || '';
  emit('connection', name);
}

function setPositions(service, body) {
  const rows = body && Array.isArray(body.positions) ? body.positions : null;
  if (!rows) return;
  const byService = {};
  for (const row of rows) (byService[row.service || service] ||= []).push(row);
  if (service) positions.positionsByService[service] = byService[service] || [];
  else Object.assign(positions.positionsByService, byService);
}

function setExecution(body) {
  for (const entry of (body && body.execution) || []) {
    const target = state.performance[entry.service];
    if (target) Object.assign(target, entry, { timestamp: target.timestamp });
  }
}

function mergeHealth(body) {
  if (!body) return;
  if (body.status !== undefined && Array.isArray(body.components)) {
    state.health = body;
    return;
  }
  const health = state.health || { status: null, reasons: [], components: [], bots: [] };
  if (body.metrics) health.metrics = { ...(health.metrics || {}), ...body.metrics };
  if (body.name && body.status) {
    const list = health.components || (health.components = []);
    const index = list.findIndex((c) => c.name === body.name);
    if (index >= 0) list[index] = body;
    else list.push(body);
  }
  state.health = health;
}

function applySnapshot(data) {
  if (!data) return;
  if (data.services) setServices(data.services);
  for (const [service, body] of Object.entries(data.performance || {})) {
    setPerformance(service, body);
  }
  for (const [service, body] of Object.entries(data.positions || {})) setPositions(service, body);
  for (const body of Object.values(data.execution || {})) setExecution(body);
  if ('health' in data) state.health = data.health;
  if ('alerts' in data) state.alerts = data.alerts ? data.alerts.alerts || [] : null;
  if ('layout' in data && data.layout) state.layout = data.layout;
  state.snapshots += 1;
  document.body.dataset.snapshots = String(state.snapshots);
  emit('performance');
  emit('positions');
  emit('health');
  emit('alerts');
  emit('layout');
  emit('snapshot');
}

const HANDLERS = {
  snapshot: (message) => applySnapshot(message.data),
  performance: (message) => {
    setPerformance(message.service, message.data);
    if (message.service && !state.services.some((s) => s.name === message.service)) {
      setServices([...state.services, { name: message.service }]);  // a new bot appeared
    }
    emit('performance');
  },
  positions: (message) => {
    setPositions(message.service, message.data);
    emit('positions');
  },
  execution: (message) => {
    setExecution(message.data);
    emit('performance');
  },
  health: (message) => {
    mergeHealth(message.data);
    emit('health');
  },
  alert: (message) => {
    upsertAlert(message.data && message.data.alert ? message.data.alert : message.data);
    emit('alerts');
  },
  span: (message) => emit('span', message.data),
  metric: (message) => emit('metric', message),
  heartbeat: () => {},
  resync: () => emit('resync'),
  error: (message) => console.warn('WebSocket error message', message.data && message.data.error),
};

function handle(message) {
  const handler = HANDLERS[message && message.type];
  if (handler) handler(message);
  else console.info('ignoring WebSocket message of type', message && message.type);
}

const ABSENT_RECHECK_MS = 60000;
const absentSince = {};

/** GET an endpoint other packages provide; after a 404 it is asked again only once a minute. */
async function optional(path) {
  if (Date.now() - (absentSince[path] || -Infinity) < ABSENT_RECHECK_MS) return null;
  const body = await getJSON(path).catch(() => null);
  if (body === null) absentSince[path] = Date.now();
  else delete absentSince[path];
  return body;
}

/** One REST refresh shaped like a WebSocket snapshot: the polling fallback and resync. */
async function poll() {
  const [services, performance, positionsBody, healthBody, alertsBody] = await Promise.all([
    getJSON('/api/v1/services'),
    getJSON('/api/v1/performance'),
    optional('/api/v1/positions'),
    optional('/api/v1/health'),
    optional('/api/v1/alerts'),
  ]);
  const byService = {};
  for (const snap of (performance && performance.performance) || []) {
    (byService[snap.service] ||= { performance: [] }).performance.push(snap);
  }
  if (positionsBody) setPositions(null, positionsBody);
  const first = state.connection !== 'polling';
  const data = { services: (services && services.services) || [], performance: byService,
                 health: healthBody, alerts: alertsBody };
  if (first) {
    applySnapshot(data);
  } else {
    setServices(data.services);
    for (const [service, body] of Object.entries(byService)) setPerformance(service, body);
    state.health = healthBody;
    state.alerts = alertsBody ? alertsBody.alerts || [] : null;
    emit('performance');
    emit('health');
    emit('alerts');
  }
  emit('tick');
}

async function start() {
  initTheme();
  try {
    const config = await getJSON('/api/v1/dashboard-config');
    if (config) Object.assign(state.config, config);
  } catch (error) {
    console.info('dashboard config unavailable; using defaults', error.message);
  }
  for (const panel of [bots, overview, performance, health, alerts, positions, execution, custom]) {
    try {
      panel.mount();
    } catch (error) {
      console.error('a panel failed to start; the others carry on', error);
    }
  }
  document.addEventListener('themechange', () => emit('redraw'));
  on('service', (service) => {
    document.title = service ? `${service} — tradepulse` : 'tradepulse';
  });
  setInterval(() => emit('clock'), 10000);
  let resizeTimer = null;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => emit('resize'), 300);
  });
  custom.loadLayout(layoutName());
  const live = new LiveConnection({
    params: () => ({ layout: layoutName() }),
    refreshMs: state.config.auto_refresh_interval,
    onMessage: handle,
    poll,
    onStatus: showStatus,
  });
  live.start();
  loadPlotly().then(() => emit('redraw'), (error) => console.warn(error.message));
}

start();
