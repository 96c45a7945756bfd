// Series in either wire shape: point lists `[[t, v], ...]` or columnar `{t: [...], v: [...]}`.

import { toDate } from './format.js';

/** {x: Date[], y: number[]} from a series body, whatever its shape. */
export function columns(body) {
  if (!body) return { x: [], y: [] };
  if (body.points && !Array.isArray(body.points)) return columns(body.points);
  if (Array.isArray(body.t) && Array.isArray(body.v)) {
    return { x: body.t.map(toDate), y: body.v.map(numeric) };
  }
  const points = Array.isArray(body) ? body : body.points || [];
  return {
    x: points.map((point) => toDate(point[0])),
    y: points.map((point) => numeric(point[1])),
  };
}

/** A point's value as a number: histograms and summaries show their mean (sum / count). */
function numeric(value) {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return value;
  if (typeof value === 'object' && typeof value.sum === 'number' && value.count) {
    return value.sum / value.count;
  }
  return null;
}

/** At most `limit` points, evenly strided (the server should already respect max_points). */
export function thin({ x, y }, limit) {
  if (x.length <= limit) return { x, y };
  const step = x.length / limit;
  const out = { x: [], y: [] };
  for (let i = 0; i < limit; i += 1) {
    const index = Math.min(x.length - 1, Math.floor(i * step + step - 1));
    out.x.push(x[index]);
    out.y.push(y[index]);
  }
  return out;
}

/** The last value of each local calendar day ('YYYY-MM-DD'): daily-return bars. */
export function lastPerDay({ x, y }) {
  const days = new Map();
  x.forEach((date, index) => {
    if (!date || y[index] === null) return;
    const key = date.toDateString();
    const day = `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, '0')}-`
      + String(date.getDate()).padStart(2, '0');
    days.set(key, { x: day, y: y[index] });
  });
  const values = [...days.values()];
  return { x: values.map((v) => v.x), y: values.map((v) => v.y) };
}

const DAY_MS = 86400000;

/**
 * `since` and `until` (ISO-8601) for a range button. The range starts no earlier than the
 * bot's first telemetry and ends now, so a server that thins history into `max_points` time
 * buckets spreads them over time that has data.
 */
export function rangeWindow(range, firstSeenMs = null, now = new Date()) {
  const starts = {
    '1d': now.getTime() - DAY_MS,
    '1w': now.getTime() - 7 * DAY_MS,
    '1m': now.getTime() - 30 * DAY_MS,
    ytd: new Date(now.getFullYear(), 0, 1).getTime(),
    all: 0,
  };
  let since = starts[range] ?? 0;
  if (firstSeenMs && firstSeenMs > since) since = Math.min(firstSeenMs, now.getTime() - 1000);
  return { since: new Date(since).toISOString(), until: new Date(now.getTime() + 1000).toISOString() };
}
