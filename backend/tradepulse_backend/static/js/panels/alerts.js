// Recent alerts, live and coloured by severity, with acknowledge and silence buttons calling
// the REST API, and a paginated history. Until alerting answers, an honest empty state.

import { getJSON, postJSON, query } from '../api.js';
import { el, emptyState } from '../dom.js';
import { ago, number } from '../format.js';
import { emit, on, state } from '../store.js';

const HISTORY_PAGE = 20;
const ORDER = { firing: 0, pending: 1, resolved: 2 };
const SEVERITY = { critical: 0, warning: 1, info: 2 };

/** Silence matchers for an alert: its rule and, when it has one, its service. */
export function silenceMatchers(alert) {
  const matchers = [{ name: 'rule', value: alert.rule, op: '=' }];
  if (alert.service) matchers.push({ name: 'service', value: alert.service, op: '=' });
  return matchers;
}

function severityOf(alert) {
  return String(alert.severity || 'info').toLowerCase();
}

export function mount() {
  const section = document.getElementById('alerts');
  const list = document.getElementById('alert-list');
  const count = document.getElementById('alerts-count');
  const historyBox = document.getElementById('alert-history');
  const historyList = document.getElementById('alert-history-list');
  const more = document.getElementById('alert-history-more');
  let cursor = null;
  let historyLoaded = false;

  async function acknowledge(alert, button) {
    button.disabled = true;
    try {
      await postJSON(`/api/v1/alerts/${encodeURIComponent(alert.fingerprint)}/ack`, {});
      alert.acknowledged = true;
      emit('alerts');
    } catch (error) {
      button.disabled = false;
      button.title = `Acknowledge failed: ${error.message}`;
    }
  }

  function silenceForm(alert, item) {
    if (item.querySelector('form')) return;
    const form = document.getElementById('silence-form-template').content
      .firstElementChild.cloneNode(true);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const fields = new FormData(form);
      const submit = form.querySelector('[type=submit]');
      submit.disabled = true;
      try {
        await postJSON('/api/v1/silences', {
          matchers: silenceMatchers(alert),
          created_by: 'dashboard',
          comment: String(fields.get('comment') || `silenced from the dashboard: ${alert.title || alert.rule}`),
          duration: String(fields.get('duration')),
        });
        alert.silenced = true;
        form.remove();
        emit('alerts');
      } catch (error) {
        submit.disabled = false;
        submit.title = `Silence failed: ${error.message}`;
        form.append(el('span', { class: 'neg', text: ` ${error.message}` }));
      }
    });
    form.querySelector('[data-cancel]').addEventListener('click', () => form.remove());
    item.append(form);
    form.querySelector('select').focus();
  }

  function alertItem(alert, { actions }) {
    const severity = severityOf(alert);
    const stateName = String(alert.state || '').toLowerCase();
    const item = el('li', { class: 'alert', dataset: { severity, state: stateName,
                                                       fingerprint: alert.fingerprint } },
      el('div', { class: 'alert-head' },
        el('span', { class: 'severity', text: severity }),
        el('strong', { class: 'alert-title', text: alert.title || alert.rule }),
        el('span', { class: 'alert-state', text: stateName }),
        alert.acknowledged ? el('span', { class: 'tag', text: 'acknowledged' }) : null,
        alert.silenced ? el('span', { class: 'tag', text: 'silenced' }) : null),
      alert.message ? el('p', { class: 'alert-message', text: alert.message }) : null,
      el('p', { class: 'alert-meta', text: [
        alert.service,
        alert.value !== null && alert.value !== undefined
          ? `value ${number(alert.value, 4)}${alert.threshold !== null && alert.threshold !== undefined ? ` (threshold ${number(alert.threshold, 4)})` : ''}` : null,
        ago(alert.since || alert.starts_at),
      ].filter(Boolean).join(' · ') }));
    if (actions && stateName !== 'resolved') {
      const buttons = el('div', { class: 'alert-actions' });
      if (!alert.acknowledged) {
        const ack = el('button', { type: 'button', 'data-action': 'ack', text: 'Acknowledge' });
        ack.addEventListener('click', () => acknowledge(alert, ack));
        buttons.append(ack);
      }
      if (!alert.silenced) {
        const silence = el('button', { type: 'button', 'data-action': 'silence', text: 'Silence…' });
        silence.addEventListener('click', () => silenceForm(alert, item));
        buttons.append(silence);
      }
      if (buttons.childElementCount) item.append(buttons);
    }
    return item;
  }

  function render() {
    const alerts = state.alerts;
    if (alerts === undefined) return;
    if (alerts === null) {
      list.replaceChildren();
      count.textContent = '';
      historyBox.hidden = true;
      emptyState(section, 'Alerts appear here once alerting runs '
        + '(GET /api/v1/alerts is not available on this server).');
      return;
    }
    historyBox.hidden = false;
    const shown = alerts.filter((a) => String(a.state).toLowerCase() !== 'inactive')
      .sort((a, b) => (ORDER[a.state] ?? 3) - (ORDER[b.state] ?? 3)
        || (SEVERITY[severityOf(a)] ?? 3) - (SEVERITY[severityOf(b)] ?? 3));
    const firing = shown.filter((a) => String(a.state).toLowerCase() === 'firing').length;
    count.textContent = firing ? `${firing} firing` : '';
    // Keep an open silence form: re-render only items that are not being edited.
    const editing = new Set([...list.querySelectorAll('li:has(form)')].map((li) => li.dataset.fingerprint));
    list.replaceChildren(...shown.map((alert) => (editing.has(alert.fingerprint)
      ? list.querySelector(`li[data-fingerprint="${CSS.escape(alert.fingerprint)}"]`)
      : alertItem(alert, { actions: true }))));
    emptyState(section, shown.length ? '' : 'No alerts — all rules are quiet.');
  }

  async function loadHistory(next) {
    try {
      const body = await getJSON('/api/v1/alerts/history' + query({ limit: HISTORY_PAGE, cursor: next }));
      if (!body) {
        historyList.replaceChildren(el('li', { class: 'muted', text: 'No alert history on this server.' }));
        more.hidden = true;
        return;
      }
      const items = (body.alerts || []).map((alert) => alertItem(alert, { actions: false }));
      if (!next) historyList.replaceChildren(...items);
      else historyList.append(...items);
      if (!next && !items.length) historyList.append(el('li', { class: 'muted', text: 'No alerts yet.' }));
      cursor = body.next_cursor || null;
      more.hidden = !cursor;
    } catch (error) {
      historyList.append(el('li', { class: 'muted', text: `History unavailable: ${error.message}` }));
    }
  }

  historyBox.addEventListener('toggle', () => {
    if (historyBox.open && !historyLoaded) {
      historyLoaded = true;
      loadHistory(null);
    }
  });
  more.addEventListener('click', () => loadHistory(cursor));

  on('alerts', render);
  on('snapshot', () => {
    if (historyBox.open) loadHistory(null);
  });
}
