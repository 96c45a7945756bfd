// Portfolio overview: the selected bot's headline figures, coloured by sign.

import { emptyState, el } from '../dom.js';
import { money, number, percent, signClass, signedMoney } from '../format.js';
import { noDataHint } from '../hints.js';
import { on, snapshotOf, state } from '../store.js';

const FIGURES = [
  ['portfolio_value', 'Value', (v, c) => money(v, c), false],
  ['cash', 'Cash', (v, c) => money(v, c), false],
  ['pnl_today', 'P&L today', (v, c) => signedMoney(v, c), true],
  ['total_pnl', 'P&L total', (v, c) => signedMoney(v, c), true],
  ['daily_return', 'Daily return', (v) => percent(v), true],
  ['total_return', 'Total return', (v) => percent(v), true],
  ['sharpe_ratio', 'Sharpe', (v) => number(v), true],
  ['sortino_ratio', 'Sortino', (v) => number(v), true],
  ['max_drawdown', 'Max drawdown', (v) => percent(v), true],
  ['current_drawdown', 'Drawdown now', (v) => percent(v), true],
];

export function mount() {
  const section = document.getElementById('overview');
  const list = document.getElementById('figures');
  const currency = document.getElementById('currency');

  function render() {
    const snap = snapshotOf();
    if (!state.services.length) {
      list.replaceChildren();
      currency.textContent = '';
      emptyState(section, noDataHint());
      return;
    }
    if (!snap || snap.portfolio_value === null || snap.portfolio_value === undefined) {
      emptyState(section, `No portfolio value from ${state.service} yet — report one with `
        + 'tradepulse.metrics.set_portfolio_value(value, cash=..., currency=...) '
        + 'or tradepulse.observe_portfolio(pm).');
    } else {
      emptyState(section, '');
    }
    currency.textContent = snap && snap.currency ? snap.currency : '';
    const reasons = (snap && snap.reasons) || {};
    list.replaceChildren(...FIGURES.map(([field, label, format, signed]) => {
      const value = snap ? snap[field] : null;
      const shown = value === null || value === undefined ? null : value;
      return el('div', { class: 'figure', dataset: { field } },
        el('dt', { text: label }),
        el('dd', {
          class: signed ? signClass(shown) : '',
          title: shown === null ? reasons[field] || 'not reported yet' : null,
          text: format(shown, snap && snap.currency),
        }));
    }));
  }

  on('performance', render);
  on('service', render);
  on('services', render);
  render();
}
