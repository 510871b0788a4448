// ticketd.js: a browser client of ticketd's WebSocket API (docs/protocol.rst, "WebSocket
// API" and "ticketd.js"); an ES module with no build step and no dependencies, served by the
// daemon at /ticketd.js:  import { TicketD } from "http://127.0.0.1:8766/ticketd.js";
// Every job gets a client-made id unless the caller gives one, so that sending it again is
// idempotent. The client reconnects by itself (backoff 0.5 s doubling to 10 s, jittered);
// after a reconnect it asks job_status for every job still pending: a job the daemon
// acknowledged is never sent again (its end is read by polling job_status), one it never
// acknowledged is sent again with the same id (a duplicate is only acknowledged again).

const NEEDS_TOKEN = new Set(['ticket', 'raw', 'cancel', 'job_status', 'subscribe']);
const NEEDS_ADMIN = new Set(['cancel', 'subscribe']);
const SHUTTING_DOWN = 'ERROR: the daemon is shutting down';
const UNKNOWN_JOB = 'Unknown job id';
const NOT_RECORDED = 'is not recorded yet';
const CANCELLED = 'CANCELLED: cancelled by request';
const DEFAULTS = {
  token: null, adminToken: null, minDelay: 500, maxDelay: 10000, pollInterval: 1000,
  statusInterval: 2000, connectTimeout: 15000,
};

/** A failure of ticketd: `category` is the text before the colon of `message` (VALIDATION,
 * PRINTER, CANCELLED, ...; "ERROR" for a refusal that carries none, e.g. "Queue full, ..."). */
export class TicketDError extends Error {
  constructor(message, fields = {}) {
    super(message);
    this.name = 'TicketDError';
    const m = /^([A-Z][A-Z_]*):/.exec(message || '');
    this.category = m ? m[1] : 'ERROR';
    Object.assign(this, fields);
  }
}

function randomId() {  // crypto.randomUUID needs a secure context; a POS page may not be one
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return 'td-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function base64(bytes) {
  const data = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let text = '';
  for (let i = 0; i < data.length; i += 0x8000) {
    text += String.fromCharCode.apply(null, data.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

/** ws(s)://host:port/ws from a ws URL, an http(s) URL of the daemon, or nothing (the daemon
 * that served this module). */
export function socketUrl(url) {
  const u = new URL(url || '/ws', import.meta.url);
  u.protocol = u.protocol.replace(/^http/, 'ws');
  if (u.pathname === '/') u.pathname = '/ws';
  return u.href;
}

export class TicketD {
  /** Resolves with a connected client (rejects after `connectTimeout` ms without one). */
  static connect(url, options = {}) {
    const td = new TicketD(url, options);
    return td._firstOpen.then(() => td);
  }

  constructor(url, options = {}) {
    this.url = socketUrl(url);
    this.options = { ...DEFAULTS, ...options };
    this.jobs = new Map();  // id -> pending job
    this.calls = new Map();  // id -> the one request of that id awaiting its reply
    this.chains = new Map();  // id -> tail of its requests: one at a time, so replies match
    this.printerList = [];  // get_printers waiters (its reply carries no id)
    this.listeners = new Map();
    this.lastPrinters = new Map();
    this.attempt = 0;
    this._firstOpen = new Promise((resolve, reject) => {
      this._opened = resolve;
      this._giveUp = setTimeout(() => {
        this.close();
        reject(new TicketDError(`ERROR: cannot connect to ${this.url}`));
      }, this.options.connectTimeout);
    });
    this._open();
  }

  get connected() { return !!this.ws && this.ws.readyState === WebSocket.OPEN; }

  /** Print a v1 document; resolves with the result once printed, rejects with a
   * TicketDError otherwise. `printer` sets `profile.model` (an unknown one goes to the
   * daemon's default printer). */
  print(doc, { id, printer, ttl, expires, onProgress } = {}) {
    const datos = printer ? { ...doc, profile: { ...(doc.profile || {}), model: printer } } : doc;
    return this._job({ tipo: 'ticket', datos, ttl, expires }, id, onProgress);
  }

  /** Print raw ESC/POS bytes (a Uint8Array) on `printer` (name or alias; default printer). */
  printRaw(bytes, { id, printer, ttl, expires, onProgress } = {}) {
    const datos = { data: base64(bytes) };
    if (printer) datos.printer = printer;
    return this._job({ tipo: 'raw', datos, ttl, expires }, id, onProgress);
  }

  /** The queue totals and each printer's figures (the `status` reply). */
  async status(printer) {
    const qid = randomId();
    const reply = await this._call(qid, { tipo: 'status', id: qid,
      datos: printer ? { printer } : undefined });
    if (reply.tipo === 'error') throw new TicketDError(reply.mensaje);
    return reply;
  }

  /** The printers (`get_printers`): configured ones first, with their live status. */
  printers() {
    return new Promise((resolve, reject) => {
      this.printerList.push({ resolve: (m) => resolve(m.printers), reject });
      if (!this._send({ tipo: 'get_printers' })) this.printerList.pop().reject(this._lost());
    });
  }

  /** A job's state from the daemon (`job_status`), of any client; null for an unknown id. */
  async job(id) {
    const reply = await this._call(String(id), { tipo: 'job_status', id: String(id) });
    if (reply.tipo === 'info') {
      const { mensaje: message, tipo, status, ...fields } = reply;
      return { ...fields, message };
    }
    if ((reply.mensaje || '').startsWith(UNKNOWN_JOB)) return null;
    throw new TicketDError(reply.mensaje, { id });
  }

  /** Cancel a waiting job; resolves with its cancelled state. A job of an earlier connection
   * (before a reconnect) or of another client needs the admin token. */
  async cancel(id, tries = 5) {
    id = String(id);
    const job = this.jobs.get(id), done = { id, state: 'cancelled', message: CANCELLED };
    if (job && !job.sent) return this._settle(job, false, CANCELLED, done) || done;  // local
    const reply = await this._call(id, { tipo: 'cancel', id });
    if (reply.tipo === 'result') return { id, state: reply.state, message: reply.mensaje };
    if ((reply.mensaje || '').includes(NOT_RECORDED) && tries > 1) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return this.cancel(id, tries - 1);
    }
    throw new TicketDError(reply.mensaje, { id });
  }

  /** `on("printer", cb)`: cb({name, status, ok, queue, capacity, ...}) on every change;
   * `on("connection", cb)`: cb({connected}). Returns the function that stops it. */
  on(event, cb) {
    const set = this.listeners.get(event) || this.listeners.set(event, new Set()).get(event);
    set.add(cb);
    return () => set.delete(cb);
  }

  /** Stop for good: pending jobs reject (they may still print: ask job(id) later). */
  close() {
    this.closed = true;
    clearTimeout(this.timer);
    clearTimeout(this._giveUp);
    clearInterval(this.poller);
    if (this.ws) this.ws.close();
    const why = 'ERROR: the client was closed; the job may still print';
    for (const job of [...this.jobs.values()]) this._settle(job, false, why, {});
  }

  // --- the connection ------------------------------------------------------------------

  _open() {
    let ws;
    try { ws = new WebSocket(this.url); } catch (e) { return this._scheduleReconnect(); }
    this.ws = ws;
    ws.onopen = () => this._connected(ws);
    ws.onmessage = (e) => {
      let m;
      try { m = JSON.parse(e.data); } catch (err) { return; }
      if (m && typeof m === 'object') this._message(m);
    };
    ws.onclose = () => this._disconnected(ws);
  }

  _connected(ws) {
    if (ws !== this.ws) return;
    this.attempt = 0;
    this.wasConnected = true;
    clearTimeout(this._giveUp);
    this._opened();
    this._emit('connection', { connected: true });
    if (this.options.adminToken && !this.noFeed) this._subscribe();
    this.poller = setInterval(() => this._poll(), this.options.pollInterval);
    // send what never went out; ask the daemon about the rest
    for (const job of [...this.jobs.values()]) job.sent ? this._ask(job, true) : this._submit(job);
  }

  _disconnected(ws) {
    if (ws !== this.ws) return;
    this.ws = null;
    this.subscribed = false;
    clearInterval(this.poller);
    const lost = this._lost();
    for (const call of this.calls.values()) call.reject(lost);
    this.calls.clear(), this.chains.clear();
    for (const w of this.printerList.splice(0)) w.reject(lost);
    if (this.wasConnected) this._emit('connection', { connected: false });
    this.wasConnected = false;
    this._scheduleReconnect();
  }

  _scheduleReconnect() {
    if (this.closed) return;
    const { minDelay, maxDelay } = this.options;
    const delay = Math.min(maxDelay, minDelay * 2 ** this.attempt);
    this.attempt += 1;
    this.timer = setTimeout(() => this._open(), delay / 2 + Math.random() * delay / 2);
  }

  _lost() { return new TicketDError('ERROR: not connected to ticketd'); }

  _send(msg) {
    if (!this.connected) return false;
    const { token, adminToken } = this.options;
    const out = { ...msg };
    if (NEEDS_TOKEN.has(msg.tipo) && token) out.auth_token = token;
    if (NEEDS_ADMIN.has(msg.tipo) && adminToken) out.admin_token = adminToken;
    this.ws.send(JSON.stringify(out));  // undefined fields (ttl, expires) are left out
    return true;
  }

  /** Send `msg` about `id` and resolve with its reply; requests of one id go one at a time,
   * since the daemon's replies (ack, error, job state) name only the job id. */
  _call(id, msg) {
    const prev = this.chains.get(id) || Promise.resolve();
    const next = prev.catch(() => {}).then(() => new Promise((resolve, reject) => {
      this.calls.set(id, { tipo: msg.tipo, resolve, reject });
      if (!this._send(msg)) { this.calls.delete(id); reject(this._lost()); }
    }));
    this.chains.set(id, next);
    const done = () => { if (this.chains.get(id) === next) this.chains.delete(id); };
    next.then(done, done);
    return next;
  }

  _answer(id, m, tipos) {
    const call = this.calls.get(id);
    if (!call || (tipos && !tipos.includes(call.tipo))) return;
    this.calls.delete(id);
    call.resolve(m);
  }

  _message(m) {
    const id = m.id === undefined || m.id === null ? null : String(m.id);
    const job = id === null ? undefined : this.jobs.get(id);
    if (m.tipo === 'ack') {
      if (job) Object.assign(job, { acked: true, printer: m.printer });
      if (job) this._progress(job, m.duplicate && m.state ? m.state : 'queued', m.mensaje, m);
      this._answer(id, m, ['ticket', 'raw']);
    } else if (m.tipo === 'result') {
      if (job) this._settle(job, m.status === 'success', m.mensaje, m);
      if (m.state === 'cancelled') this._answer(id, m, ['cancel']);
    } else if (m.tipo === 'error' || m.tipo === 'status') {
      if (id !== null) this._answer(id, m);
    } else if (m.tipo === 'printers') {
      const w = this.printerList.shift();
      if (w) w.resolve(m);
    } else if (m.tipo === 'info') {
      this._info(m, id, job);
    }
  }

  _info(m, id, job) {
    if (m.status === 'job') {
      this._answer(id, m, ['job_status']);
    } else if ((m.status === 'held' || m.status === 'sent') && job) {
      this._progress(job, m.status, m.mensaje, m);  // sent: at the printer, not confirmed
    } else if (m.status === 'resumed' && job) {
      this._progress(job, 'queued', m.mensaje, m);
    } else if (m.status === 'snapshot') {
      this.subscribed = true;
      this._answer(id, m, ['subscribe']);
      for (const p of m.printers || []) this._printer(p);
    } else if (m.status === 'event' && m.event === 'printer') {
      this._printer({ ...m.state, name: m.printer });
    } else if (m.status === 'event' && m.event === 'job' && m.job) {
      const mine = this.jobs.get(String(m.job.id));
      if (!mine || !mine.acked) return;
      if (['queued', 'held', 'printing', 'sent'].includes(m.job.state)) {
        this._progress(mine, m.job.state, m.progress || m.mensaje, m);
      } else if (!this.calls.has(mine.id)) {
        this._ask(mine);  // ended: its result comes, or (an earlier connection's) job_status
      }
    }
  }

  // --- jobs ----------------------------------------------------------------------------

  _job(frame, id, onProgress) {
    id = id === undefined || id === null ? randomId() : String(id);
    if (this.jobs.has(id)) return Promise.reject(new TicketDError(`ERROR: job ${id} is pending`));
    return new Promise((resolve, reject) => {
      const job = { id, frame: { ...frame, id }, sent: false, acked: false, resolve, reject,
        onProgress, last: null };
      this.jobs.set(id, job);
      if (this.connected) this._submit(job);
    });
  }

  async _submit(job) {
    job.sent = true;
    let reply;  // connection lost before the ack: asked with job_status after a reconnect
    try { reply = await this._call(job.id, job.frame); } catch (e) { return; }
    if (reply.tipo !== 'error' || !this.jobs.has(job.id)) return;
    // refused while the daemon stops, not recorded: sent again once it is back
    if (reply.mensaje.startsWith(SHUTTING_DOWN)) job.sent = false;
    else this._settle(job, false, reply.mensaje, reply);
  }

  /** Without the live feed no "printing" news comes unasked: poll job_status (and `status`
   * for the printer listeners); with it, only the jobs of an earlier connection. */
  _poll() {
    for (const job of this.jobs.values()) {
      if (job.acked && (job.orphan || !this.subscribed) && !this.chains.has(job.id)) {
        this._ask(job);
      }
    }
    const now = Date.now(), wanted = (this.listeners.get('printer') || new Set()).size;
    if (wanted && !this.subscribed && !(now - this.statusAt < this.options.statusInterval)) {
      this.statusAt = now;
      this.status().then((s) => {
        for (const p of s.printers || []) {
          this._printer({ name: p.name, status: p.status, ok: p.status === 'Ready',
            queue: p.current, capacity: p.capacity });
        }
      }, () => {});
    }
  }

  /** job_status: after a reconnect (`resuming`), or a poll. A job the daemon does not know
   * was never recorded unless it was acked: sent again with its id, which is idempotent. */
  async _ask(job, resuming = false) {
    let reply;  // connection lost: asked again after the reconnect
    try { reply = await this._call(job.id, { tipo: 'job_status', id: job.id }); } catch (e) {
      return;
    }
    if (!this.jobs.has(job.id)) return;
    if (reply.tipo === 'info') {
      if (resuming) job.acked = job.orphan = true;  // its result went to the old connection
      return this._state(job, reply);
    }
    const unknown = (reply.mensaje || '').startsWith(UNKNOWN_JOB);
    if (unknown && !job.acked) return this._submit(job);
    const gone = `ERROR: job ${job.id} was acknowledged but the daemon no longer knows it`;
    if (unknown || resuming) this._settle(job, false, unknown ? gone : reply.mensaje, {});
  }

  _state(job, reply) {  // a job_status reply
    if (reply.printer) job.printer = reply.printer;
    if (reply.result) this._settle(job, reply.result === 'success', reply.mensaje, reply);
    else this._progress(job, reply.state, reply.mensaje, reply);
  }

  _progress(job, state, message, m) {
    if (!state || job.last === state || !this.jobs.has(job.id)) return;
    job.last = state;
    const p = { id: job.id, state, message, printer: job.printer };
    if (m && m.position !== undefined) p.position = m.position;
    if (job.onProgress) later(job.onProgress, p);
  }

  _settle(job, ok, message, m) {
    if (this.jobs.get(job.id) !== job) return;
    this.jobs.delete(job.id);
    const fields = { id: job.id, state: m.state || (ok ? 'printed' : 'failed'),
      warnings: m.warnings || [], printer: m.printer || job.printer };
    if (ok) job.resolve({ ...fields, message });
    else job.reject(new TicketDError(message, fields));
  }

  // --- live printer status -------------------------------------------------------------

  async _subscribe() {
    const sid = randomId();  // a lost connection subscribes again on the reconnect
    const reply = await this._call(sid, { tipo: 'subscribe', id: sid }).catch(() => ({}));
    if (reply.tipo === 'error') this.noFeed = true;  // refused: poll instead
  }

  _printer(p) {
    const key = JSON.stringify([p.status, p.ok, p.queue, p.capacity, p.held, p.printing]);
    if (this.lastPrinters.get(p.name) === key) return;
    this.lastPrinters.set(p.name, key);
    this._emit('printer', p);
  }

  _emit(event, value) {
    for (const cb of this.listeners.get(event) || []) later(cb, value);
  }
}

/** A caller's callback: its exception is reported, and never breaks the library's state. */
function later(cb, value) {
  try { cb(value); } catch (e) { setTimeout(() => { throw e; }); }
}

export default TicketD;
