// Active positions of the selected bot: symbol, quantity, market value, allocation and
// unrealized P&L, sortable by any column.

import { emptyState, el } from '../dom.js';
import { money, number, plainPercent, signClass, signedMoney } from '../format.js';
import { noDataHint } from '../hints.js';
import { on, snapshotOf, state } from '../store.js';

export const positionsByService = {};

/** Rows from GET /api/v1/positions rows, or a snapshot's `positions` dict by symbol. */
export function positionRows(positions, portfolioValue) {
  if (Array.isArray(positions)) {
    return positions.filter((p) => p.quantity !== 0).map((p) => ({
      symbol: p.symbol,
      quantity: p.quantity ?? null,
      market_value: p.market_value ?? null,
      allocation: p.allocation ?? (p.market_value != null && portfolioValue
        ? p.market_value / portfolioValue : null),
      unrealized_pnl: p.unrealized_pnl ?? null,
    }));
  }
  return Object.entries(positions || {})
    .filter(([, p]) => p && p.quantity !== 0)
    .map(([symbol, p]) => ({
      symbol,
      quantity: p.quantity ?? null,
      market_value: p.market_value ?? null,
      allocation: p.market_value !== null && p.market_value !== undefined && portfolioValue
        ? p.market_value / portfolioValue : null,
      unrealized_pnl: p.unrealized_pnl ?? null,
    }));
}

export function mount() {
  const section = document.getElementById('positions');
  const table = document.getElementById('positions-table');
  const body = table.querySelector('tbody');
  let sortKey = 'market_value';
  let descending = true;

  for (const button of table.querySelectorAll('[data-sort]')) {
    button.addEventListener('click', () => {
      const key = button.dataset.sort;
      descending = key === sortKey ? !descending : key !== 'symbol';
      sortKey = key;
      render();
    });
  }

  function compare(a, b) {
    const x = a[sortKey];
    const y = b[sortKey];
    if (x === y) return 0;
    if (x === null) return 1;
    if (y === null) return -1;
    const order = typeof x === 'string' ? x.localeCompare(y) : Math.abs(x) - Math.abs(y);
    return descending ? -order : order;
  }

  function render() {
    for (const th of table.querySelectorAll('th')) {
      const key = th.querySelector('[data-sort]')?.dataset.sort;
      if (key === sortKey) th.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
      else th.removeAttribute('aria-sort');
    }
    const snap = snapshotOf();
    const positions = positionsByService[state.service] || (snap && snap.positions);
    const rows = positionRows(positions, snap && snap.portfolio_value).sort(compare);
    const message = !state.services.length ? noDataHint()
      : rows.length ? ''
        : `No open positions for ${state.service ?? 'this bot'} — the SDK reports them with `
          + 'tradepulse.metrics.set_position(symbol, quantity=..., market_value=..., '
          + 'unrealized_pnl=...).';
    emptyState(section, message);
    const currency = snap && snap.currency;
    body.replaceChildren(...rows.map((row) => el('tr', {},
      el('th', { scope: 'row', text: row.symbol }),
      el('td', { class: `num ${signClass(row.quantity)}`, text: number(row.quantity, 4) }),
      el('td', { class: 'num', text: money(row.market_value, currency) }),
      el('td', { class: 'num', text: plainPercent(row.allocation) }),
      el('td', { class: `num ${signClass(row.unrealized_pnl)}`,
                 title: row.unrealized_pnl === null ? 'not reported per position' : null,
                 text: signedMoney(row.unrealized_pnl, currency) }))));
  }

  on('performance', render);
  on('positions', render);
  on('service', render);
  on('services', render);
  render();
}
