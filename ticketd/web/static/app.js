// ticketd dashboard, core: the WebSocket ("subscribe" and every request), the tokens, a
// document editor with validation as you type ("validate"), previews (POST /preview, job
// pictures) and sending ("ticket"). Printers, jobs and the operator's actions are in
// jobs.js. No framework, no build step. Untrusted text always goes in with textContent.
'use strict';

const TOKEN_KEY = 'ticketd-token';
const state = {
  ws: null, printers: new Map(), jobs: new Map(), progress: new Map(),
  validateSeq: 0, validateTimer: null, sent: new Set(), previewUrl: null, selected: null,
  page: 0, filter: '', lookup: null, renderTimer: null,
};
const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

// --- auth token: asked for, kept in sessionStorage, never in the page -----------------------
// The admin token (other clients' jobs: the live feed, cancel, job pictures) is in the page,
// which only this origin can read; both go in messages and headers, never in a URL.
const ADMIN = (document.querySelector('meta[name="ticketd-admin-token"]') || {}).content || '';
function token() { return sessionStorage.getItem(TOKEN_KEY) || ''; }
function askToken(why) {
  $('token-form').hidden = false;
  setConn(why || 'auth token needed', false);
  $('token').focus();
}
$('token-form').addEventListener('submit', (e) => {
  e.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $('token').value);
  $('token').value = '';
  $('token-form').hidden = true;
  $('forget-token').hidden = false;
  send({ tipo: 'subscribe' });
});
$('forget-token').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  $('forget-token').hidden = true;
});
function authHeaders() {
  const headers = {};
  if (ADMIN) headers['X-Admin-Token'] = ADMIN;
  if (token()) headers.Authorization = 'Bearer ' + token();
  return headers;
}

// --- the WebSocket ---------------------------------------------------------------------------
function setConn(text, ok) {
  const c = $('conn');
  c.textContent = text;
  c.className = 'badge ' + (ok ? 'ok' : 'off');
}

function connect() {
  const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
  const ws = new WebSocket(scheme + location.host + '/ws');
  state.ws = ws;
  ws.onopen = () => { setConn('connected', true); send({ tipo: 'subscribe' }); validateSoon(); };
  ws.onmessage = (e) => {
    let msg;
    try { msg = JSON.parse(e.data); } catch (err) { return; }
    handle(msg);
  };
  ws.onclose = () => {
    setConn('disconnected, reconnecting…', false);
    setTimeout(connect, 2000);
  };
}

function send(msg) {
  if (!state.ws || state.ws.readyState !== WebSocket.OPEN) return false;
  const t = token();
  if (t) msg.auth_token = t;
  if (ADMIN) msg.admin_token = ADMIN;
  state.ws.send(JSON.stringify(msg));
  return true;
}

function handle(msg) {
  // ticketd's own replies are `info` messages whose status says what they carry
  switch (msg.tipo === 'info' ? msg.status : msg.tipo) {
    case 'snapshot':
      state.printers = new Map(msg.printers.map((p) => [p.name, p]));
      state.jobs = new Map(msg.jobs.map((j) => [j.id, j]));
      $('token-form').hidden = true;
      renderPrinters();
      break;
    case 'event':
      if (msg.event === 'job') {
        state.jobs.set(msg.job.id, msg.job);
        if (msg.progress) state.progress.set(msg.job.id, msg.progress);
        else state.progress.delete(msg.job.id);
        jobsChanged();
      } else if (msg.event === 'hold') {
        // one message for a printer's whole queue: its waiting jobs held or let go
        for (const id of msg.jobs) {
          const job = state.jobs.get(id);
          if (!job) continue;
          job.state = msg.held ? 'held' : 'queued';
          if (msg.held) state.progress.set(id, msg.progress);
          else state.progress.delete(id);
        }
        jobsChanged();
      } else if (msg.event === 'printer') {
        state.printers.set(msg.printer, msg.state);
        renderPrinterHead(msg.printer);
        jobsChanged();  // a paused printer's or a fault's "Waiting: ..." on its jobs
      }
      break;
    case 'validation':
      if (msg.id === 'v-' + state.validateSeq) showValidation(msg.errors);
      break;
    case 'ack':
      jobStatus(msg.id, `job ${msg.id} ${msg.duplicate ? 'duplicate' : msg.status} on ` +
                `${msg.printer}` + (msg.position ? `, position ${msg.position}` : ''), true);
      break;
    case 'result':
      jobStatus(msg.id, `job ${msg.id}: ${msg.mensaje}`, msg.status === 'success');
      state.sent.delete(msg.id);
      break;
    case 'paused': case 'resumed_printer': case 'cleared':
      opStatus(msg.mensaje, true);
      break;
    case 'job':
      if (msg.id === state.lookup) foundJob(msg);
      break;
    case 'error':
      if (msg.mensaje === 'Invalid or missing auth token') askToken('auth token needed');
      else if (msg.id && String(msg.id).startsWith('v-')) showValidation([msg.mensaje]);
      else if (msg.id && msg.id === state.lookup) searchStatus(msg.mensaje, false);
      else jobStatus(msg.id, msg.mensaje, false);
      break;
    default:
      break;
  }
}

// Replies to this page's requests: the editor's jobs under the editor, the rest (the
// operator's actions) under the printers.
function jobStatus(id, text, ok) {
  if (id && state.sent.has(id)) sendStatus(text, ok);
  else opStatus(text, ok);
}

function fmtTime(t) { return t ? new Date(t * 1000).toLocaleTimeString() : ''; }
function fmtSecs(a, b) { return a && b ? (b - a).toFixed(2) + ' s' : ''; }

// --- previews ------------------------------------------------------------------------------------
function showPicture(src, title, source) {
  const img = $('preview-img');
  $('preview-errors').replaceChildren();
  $('preview-title').textContent = title;
  img.hidden = false;
  img.dataset.source = source;
  img.src = src;
}

// A picture fetched with the tokens in headers, shown from a blob: URL.
async function fetchPicture(url, options, title) {
  let response;
  try {
    response = await fetch(url, options);
  } catch (err) {
    showErrors(['ERROR: ' + err]);
    return;
  }
  if (response.ok) {
    if (state.previewUrl) URL.revokeObjectURL(state.previewUrl);
    state.previewUrl = URL.createObjectURL(await response.blob());
    showPicture(state.previewUrl, title, url);
  } else {
    let errors = [`ERROR: HTTP ${response.status}`];
    try { errors = (await response.json()).errors || errors; } catch (err) { /* keep */ }
    showErrors(errors);
  }
}

function showJob(id) {
  state.selected = id;
  jobsChanged();
  fetchPicture('/jobs/' + encodeURIComponent(id) + '/preview.png',
    { headers: authHeaders() }, 'job ' + id);
}

$('preview-img').addEventListener('error', () => {
  if ($('preview-img').src) showErrors(['ERROR: the preview could not be loaded']);
});

function showErrors(errors) {
  $('preview-img').hidden = true;
  $('preview-errors').replaceChildren(...errors.map((e) => el('li', {}, e)));
}

function previewDocument() {
  fetchPicture('/preview', { method: 'POST', body: $('editor').value,
    headers: { 'content-type': 'application/json' } }, 'of the document');
}

// --- editor: examples, validation as you type, send -----------------------------------------------
function parseEditor() {
  try {
    const doc = JSON.parse($('editor').value);
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
      return [null, 'JSON: document: must be a JSON object'];
    }
    return [doc, null];
  } catch (err) {
    return [null, 'JSON: document: ' + err.message];
  }
}

function showValidation(errors) {
  const list = $('validation');
  if (!errors.length) {
    list.replaceChildren(el('li', { class: 'ok' }, '✓ valid document'));
  } else {
    list.replaceChildren(...errors.map((e) => el('li', {}, e)));
  }
}

function validateSoon() {
  clearTimeout(state.validateTimer);
  state.validateTimer = setTimeout(() => {
    if (!$('editor').value.trim()) { $('validation').replaceChildren(); return; }
    const [doc, problem] = parseEditor();
    state.validateSeq += 1;
    if (problem) { showValidation([problem]); return; }
    send({ tipo: 'validate', id: 'v-' + state.validateSeq, datos: doc });
  }, 350);
}

function sendStatus(text, ok) {
  const s = $('send-status');
  s.textContent = text;
  s.className = ok ? '' : 'messages';
}

function sendDocument() {
  const [doc, problem] = parseEditor();
  if (problem) { sendStatus(problem, false); return; }
  const printer = $('printer-select').value;
  if (printer) doc.profile = Object.assign({}, doc.profile, { model: printer });
  const id = 'dash-' + Date.now().toString(36) + '-' + Math.random().toString(36).slice(2, 6);
  state.sent.add(id);
  if (send({ tipo: 'ticket', id, datos: doc })) sendStatus(`sending job ${id}…`, true);
  else sendStatus('not connected', false);
}

async function loadExamples() {
  try {
    const { examples } = await (await fetch('/examples')).json();
    const select = $('example-select');
    for (const ex of examples) select.append(el('option', { value: ex.url }, ex.name));
  } catch (err) { /* the editor still works */ }
}

$('example-select').addEventListener('change', async (e) => {
  if (!e.target.value) return;
  const text = await (await fetch(e.target.value)).text();
  $('editor').value = text;
  validateSoon();
});
$('editor').addEventListener('input', validateSoon);
$('preview').addEventListener('click', previewDocument);
$('send').addEventListener('click', sendDocument);
$('forget-token').hidden = !token();

// After every script (jobs.js too) has run.
window.addEventListener('DOMContentLoaded', () => { loadExamples(); connect(); });
