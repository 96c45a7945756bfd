// Number and time formatting shared by the panels.

const DASH = '—';

export function money(value, currency) {
  if (value === null || value === undefined) return DASH;
  const options = { maximumFractionDigits: 2, minimumFractionDigits: 2 };
  if (currency && /^[A-Z]{3}$/.test(currency)) {
    try {
      return new Intl.NumberFormat(undefined, { style: 'currency', currency, ...options })
        .format(value);
    } catch { /* an unknown currency code falls through to plain digits */ }
  }
  return new Intl.NumberFormat(undefined, options).format(value) + (currency ? ` ${currency}` : '');
}

export function signedMoney(value, currency) {
  if (value === null || value === undefined) return DASH;
  return (value > 0 ? '+' : '') + money(value, currency);
}

export function percent(ratio, digits = 2) {
  if (ratio === null || ratio === undefined) return DASH;
  return `${(ratio > 0 ? '+' : '')}${(ratio * 100).toFixed(digits)}%`;
}

export function plainPercent(ratio, digits = 1) {
  if (ratio === null || ratio === undefined) return DASH;
  return `${(ratio * 100).toFixed(digits)}%`;
}

export function number(value, digits = 2) {
  if (value === null || value === undefined) return DASH;
  return new Intl.NumberFormat(undefined, { maximumFractionDigits: digits }).format(value);
}

export function bytes(value) {
  if (value === null || value === undefined) return DASH;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let n = value;
  let unit = 0;
  while (n >= 1024 && unit < units.length - 1) { n /= 1024; unit += 1; }
  return `${n.toFixed(unit ? 1 : 0)} ${units[unit]}`;
}

/** 'pos' / 'neg' / '' for colouring a figure by its sign. */
export function signClass(value) {
  if (value === null || value === undefined || value === 0) return '';
  return value > 0 ? 'pos' : 'neg';
}

/** Seconds, milliseconds or nanoseconds since the epoch → Date. */
export function toDate(value) {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return new Date(value);
  if (value > 1e17) return new Date(value / 1e6);
  if (value > 1e11) return new Date(value);
  return new Date(value * 1000);
}

export function ago(value, now = Date.now()) {
  const date = toDate(value);
  if (!date || Number.isNaN(date.getTime())) return DASH;
  const seconds = Math.max(0, Math.round((now - date.getTime()) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)}m ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)}h ago`;
  return `${Math.round(seconds / 86400)}d ago`;
}

export function clockTime(value) {
  const date = toDate(value);
  return date ? date.toLocaleTimeString() : DASH;
}
