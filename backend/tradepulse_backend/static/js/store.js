// The page's state: what the server last said, per service, plus the user's selection.
// Panels subscribe to topics and re-render from here; live.js and polling write into it.

const listeners = new Map();

export const state = {
  config: { auto_refresh_interval: 5000, layout: 'default', otlp_http: null },
  services: [],            // [{name, last_seen_unix_nano}]
  service: null,           // the selected bot
  performance: {},         // service -> latest PerformanceSnapshot dict
  health: undefined,       // GET /api/v1/health JSON; null when the endpoint is missing
  alerts: undefined,       // [alert]; null when the endpoint is missing
  layout: undefined,       // layout JSON; null when the endpoint is missing
  range: 'all',            // the chart range the user picked (performance and execution)
  connection: 'connecting',
  snapshots: 0,            // full snapshots applied (WebSocket or REST resync)
};

export function on(topic, listener) {
  if (!listeners.has(topic)) listeners.set(topic, new Set());
  listeners.get(topic).add(listener);
}

export function emit(topic, detail) {
  for (const listener of listeners.get(topic) || []) {
    try {
      listener(detail);
    } catch (error) {
      console.warn(`panel update for ${topic} failed`, error);
    }
  }
}

/** When the service first sent telemetry, in ms since the epoch (null when unknown). */
export function firstSeenMs(service = state.service) {
  const found = state.services.find((s) => s.name === service);
  return found && found.first_seen_unix_nano ? found.first_seen_unix_nano / 1e6 : null;
}

export function snapshotOf(service = state.service) {
  return service ? state.performance[service] || null : null;
}

/** Service names from REST (`[{name}]`) or WebSocket (names or objects). */
export function normalizeServices(list) {
  return (list || []).map((entry) => (typeof entry === 'string' ? { name: entry } : entry))
    .filter((entry) => entry && entry.name)
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Services that are bots: the backend's own host samples (role "backend") are not one. */
export function botServices(list) {
  return normalizeServices(list).filter((entry) => entry.role !== 'backend');
}

/** The snapshot list inside a REST /performance body, a bare snapshot, or a list. */
export function performanceList(data) {
  if (!data) return [];
  if (Array.isArray(data)) return data;
  if (Array.isArray(data.performance)) return data.performance;
  if (data.service && 'portfolio_value' in data) return [data];
  return [];
}

export function setPerformance(service, data) {
  const list = performanceList(data);
  if (!list.length) return;
  // A bot may report several portfolios; the page shows the one with a value, else the first.
  const chosen = list.find((s) => s.portfolio_value !== null && s.portfolio_value !== undefined)
    || list[0];
  state.performance[service || chosen.service] = chosen;
}

export function setServices(list) {
  const services = botServices(list);
  if (!services.length && state.services.length) return;
  state.services = services;
  if (!state.service || !services.some((s) => s.name === state.service)) {
    const wanted = new URLSearchParams(location.search).get('service');
    state.service = (services.find((s) => s.name === wanted) || services[0] || {}).name || null;
    emit('service', state.service);
  }
  emit('services', state.services);
}

export function upsertAlert(alert) {
  if (!alert || !alert.fingerprint) return;
  const alerts = Array.isArray(state.alerts) ? state.alerts : [];
  const index = alerts.findIndex((a) => a.fingerprint === alert.fingerprint);
  if (index >= 0) alerts[index] = { ...alerts[index], ...alert };
  else alerts.unshift(alert);
  state.alerts = alerts;
}
