// Empty-state texts that tell the user what to do next.

import { state } from './store.js';

/** The OTLP/HTTP endpoint a bot should export to, as seen from this browser. */
export function otlpEndpoint() {
  const configured = state.config.otlp_http;
  if (!configured) return `http://${location.hostname}:4318`;
  try {
    const url = new URL(configured);
    if (['0.0.0.0', '[::]', '::'].includes(url.hostname)) url.hostname = location.hostname;
    return url.origin;
  } catch {
    return configured;
  }
}

export function noDataHint() {
  return `No data yet — point OTEL_EXPORTER_OTLP_ENDPOINT at ${otlpEndpoint()} `
    + '(or run `tradepulse demo`).';
}

export function missingEndpointHint(what, endpoint) {
  return `${what} are not available on this server (${endpoint} is missing).`;
}
