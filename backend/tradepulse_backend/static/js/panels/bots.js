// The bot selector and the "all bots" table: every service's value, P&L and drawdown.

import { emptyState, el } from '../dom.js';
import { ago, money, percent, signClass, signedMoney } from '../format.js';
import { noDataHint } from '../hints.js';
import { emit, on, state } from '../store.js';

export function mount() {
  const select = document.getElementById('service-select');
  const section = document.getElementById('bots');
  const body = section.querySelector('tbody');

  select.addEventListener('change', () => choose(select.value));

  function choose(name) {
    if (!name || name === state.service) return;
    state.service = name;
    const url = new URL(location.href);
    url.searchParams.set('service', name);
    history.replaceState(null, '', url);
    emit('service', name);
  }

  function renderSelect() {
    const names = state.services.map((s) => s.name);
    const current = [...select.options].map((o) => o.value);
    if (names.join('\n') !== current.join('\n')) {
      select.replaceChildren(...(names.length
        ? names.map((name) => el('option', { value: name, text: name }))
        : [el('option', { value: '', text: 'No bots yet' })]));
    }
    select.value = state.service || '';
    select.disabled = !names.length;
  }

  function renderTable() {
    if (emptyState(section, state.services.length ? '' : noDataHint())) {
      body.replaceChildren();
      return;
    }
    body.replaceChildren(...state.services.map((service) => {
      const snap = state.performance[service.name] || {};
      const button = el('button', { type: 'button', class: 'link', text: service.name });
      button.addEventListener('click', () => choose(service.name));
      return el('tr', { class: service.name === state.service ? 'selected' : '' },
        el('th', { scope: 'row' }, button),
        el('td', { class: 'num', text: money(snap.portfolio_value ?? null, snap.currency) }),
        el('td', { class: `num ${signClass(snap.pnl_today)}`,
                   text: signedMoney(snap.pnl_today ?? null, snap.currency) }),
        el('td', { class: `num ${signClass(snap.total_return)}`,
                   text: percent(snap.total_return ?? null) }),
        el('td', { class: `num ${signClass(snap.current_drawdown)}`,
                   text: percent(snap.current_drawdown ?? null) }),
        el('td', { class: 'num', text: ago(Math.max(
          (service.last_seen_unix_nano || 0) / 1e6, (snap.timestamp || 0) * 1000) || null) }));
    }));
  }

  on('services', () => { renderSelect(); renderTable(); });
  on('service', () => { renderSelect(); renderTable(); });
  on('performance', renderTable);
  on('clock', renderTable);
  renderSelect();
  renderTable();
}
