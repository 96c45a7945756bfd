// The live connection: a WebSocket to /ws that gets a snapshot then deltas, reconnecting with
// exponential backoff and jitter; while it is down, REST polling every auto_refresh_interval ms
// keeps the page current. Status: live (WebSocket), polling (REST only), offline (nothing
// answers), reconnecting (WebSocket lost, trying again).

const HEARTBEAT_S = 15;
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 30000;

/** Delay before reconnect attempt `attempt` (0-based): exponential, capped, with jitter. */
export function backoffDelay(attempt, random = Math.random) {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempt);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export class LiveConnection {
  /**
   * @param {object} options
   * @param {() => {service: string|null, layout: string|null}} options.params
   * @param {number} options.refreshMs polling interval while the WebSocket is down
   * @param {(message: object) => void} options.onMessage typed server message
   * @param {() => Promise<void>} options.poll one REST refresh (a snapshot); throws when offline
   * @param {(state: string, detail: string) => void} options.onStatus
   */
  constructor({ params, refreshMs, onMessage, poll, onStatus }) {
    this.params = params;
    this.refreshMs = refreshMs;
    this.onMessage = onMessage;
    this.poll = poll;
    this.onStatus = onStatus;
    this.socket = null;
    this.attempt = 0;
    this.reconnectTimer = null;
    this.pollTimer = null;
    this.watchdog = null;
    this.lastMessageAt = 0;
    this.lastSeq = null;
    this.heartbeatS = HEARTBEAT_S;
    this.polling = false;
    this.pollOk = false;
    this.pollFailed = false;
    this.nextAttemptAt = 0;
  }

  start() {
    this.connect();
    this.watchdog = setInterval(() => this.checkSilence(), 5000);
  }

  url() {
    const { service, layout } = this.params();
    const search = new URLSearchParams();
    if (service) search.set('service', service);
    if (layout) search.set('layout', layout);
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const text = search.toString();
    return `${scheme}//${location.host}/ws${text ? `?${text}` : ''}`;
  }

  connect() {
    let socket;
    try {
      socket = new WebSocket(this.url());
    } catch (error) {
      this.lost();
      return;
    }
    this.socket = socket;
    let streaming = false;
    socket.addEventListener('open', () => {
      if (socket !== this.socket) return;
      this.lastSeq = null;
      this.lastMessageAt = Date.now();
    });
    socket.addEventListener('message', (event) => {
      if (socket !== this.socket) return;
      this.lastMessageAt = Date.now();
      if (!streaming) {
        // Live once data flows (the first message is the snapshot), not merely on open.
        streaming = true;
        this.attempt = 0;
        this.stopPolling();
        this.status('live', 'WebSocket connected');
      }
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        console.warn('ignoring a WebSocket message that is not JSON');
        return;
      }
      if (message.type === 'heartbeat' && message.data && message.data.interval_s > 0) {
        this.heartbeatS = message.data.interval_s;
      }
      this.track(message);
      this.onMessage(message);
    });
    socket.addEventListener('close', () => {
      if (socket !== this.socket) return;
      this.socket = null;
      this.lost();
    });
  }

  /** A gap in `seq` means a lost message: fetch a fresh state over REST. */
  track(message) {
    const seq = typeof message.seq === 'number' ? message.seq : null;
    if (message.type === 'snapshot' || seq === null) {
      if (seq !== null) this.lastSeq = seq;
      return;
    }
    if (this.lastSeq !== null && seq > this.lastSeq + 1) {
      console.info(`missed WebSocket messages ${this.lastSeq + 1}..${seq - 1}; resyncing`);
      this.poll().catch(() => {});
    }
    this.lastSeq = seq;
  }

  lost() {
    const delay = backoffDelay(this.attempt);
    this.attempt += 1;
    this.nextAttemptAt = Date.now() + delay;
    if (this.polling && this.pollOk) this.status('polling', `WebSocket: ${this.retryText()}`);
    else this.status('reconnecting', 'WebSocket lost');
    this.startPolling();
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  checkSilence() {
    if (this.socket && this.socket.readyState === WebSocket.OPEN
        && Date.now() - this.lastMessageAt > (2 * this.heartbeatS + 5) * 1000) {
      console.info('no heartbeat from the server; reconnecting');
      this.closeSocket();
      this.lost();
    }
  }

  closeSocket() {
    const socket = this.socket;
    this.socket = null;
    if (socket) socket.close();
  }

  startPolling() {
    if (this.polling) return;
    this.polling = true;
    const tick = async () => {
      if (!this.polling) return;
      try {
        await this.poll();
        const recovered = this.pollFailed;
        this.pollOk = true;
        this.pollFailed = false;
        if (recovered && this.polling && !this.socket) {
          // The server answers again: try the WebSocket now instead of waiting out the backoff.
          clearTimeout(this.reconnectTimer);
          this.connect();
        }
        if (this.polling) this.status('polling', `REST every ${Math.round(this.refreshMs / 1000)} s`);
      } catch (error) {
        this.pollOk = false;
        this.pollFailed = true;
        if (this.polling) this.status('offline', this.retryText());
      }
      if (this.polling) this.pollTimer = setTimeout(tick, this.refreshMs);
    };
    tick();
  }

  stopPolling() {
    this.polling = false;
    this.pollOk = false;
    this.pollFailed = false;
    clearTimeout(this.pollTimer);
  }

  retryText() {
    const seconds = Math.max(0, Math.round((this.nextAttemptAt - Date.now()) / 1000));
    return `reconnecting in ${seconds} s`;
  }

  status(state, detail) {
    this.onStatus(state, detail);
  }
}
