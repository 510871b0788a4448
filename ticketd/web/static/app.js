// ticketd dashboard: live printers and jobs over /ws ("subscribe"), a document editor with
// validation as you type ("validate"), previews (POST /preview) and sending ("ticket").
// No framework, no build step. Untrusted text always goes in with textContent.
'use strict';

const JOBS_SHOWN = 20;
const TOKEN_KEY = 'ticketd-token';
const state = {
  ws: null, printers: new Map(), jobs: new Map(), progress: new Map(),
  validateSeq: 0, validateTimer: null, sent: new Set(), previewUrl: null, selected: null,
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
        renderJobs(msg.job.printer);
      } else if (msg.event === 'hold') {
        // one message for a printer's whole queue: its waiting jobs held or let go
        for (const id of msg.jobs) {
          const job = state.jobs.get(id);
          if (!job) continue;
          job.state = msg.held ? 'held' : 'queued';
          if (msg.held) state.progress.set(id, msg.progress);
          else state.progress.delete(id);
        }
        renderJobs(msg.printer);
      } else if (msg.event === 'printer') {
        state.printers.set(msg.printer, msg.state);
        renderPrinterHead(msg.printer);
      }
      break;
    case 'validation':
      if (msg.id === 'v-' + state.validateSeq) showValidation(msg.errors);
      break;
    case 'ack':
      if (state.sent.has(msg.id)) {
        sendStatus(`job ${msg.id} ${msg.duplicate ? 'duplicate' : msg.status} on ${msg.printer}` +
                   (msg.position ? `, position ${msg.position}` : ''), true);
      }
      break;
    case 'result':
      if (state.sent.has(msg.id)) {
        sendStatus(`job ${msg.id}: ${msg.mensaje}`, msg.status === 'success');
        state.sent.delete(msg.id);
      }
      break;
    case 'error':
      if (msg.mensaje === 'Invalid or missing auth token') askToken('auth token needed');
      else if (msg.id && state.sent.has(msg.id)) sendStatus(msg.mensaje, false);
      else if (msg.id && String(msg.id).startsWith('v-')) showValidation([msg.mensaje]);
      else if (msg.id === undefined) sendStatus(msg.mensaje, false);
      break;
    default:
      break;
  }
}

// --- printers and jobs -------------------------------------------------------------------------
function fmtTime(t) { return t ? new Date(t * 1000).toLocaleTimeString() : ''; }
function fmtSecs(a, b) { return a && b ? (b - a).toFixed(2) + ' s' : ''; }

function renderPrinters() {
  const box = $('printers');
  box.replaceChildren();
  const select = $('printer-select');
  select.replaceChildren(el('option', { value: '' }, 'from profile.model'));
  for (const name of state.printers.keys()) {
    const card = el('div', { class: 'printer', 'data-name': name },
      el('h3', {}), el('div', { class: 'meta muted' }),
      el('table', {}, el('thead', {}, el('tr', {},
        el('th', {}, 'job'), el('th', {}, 'state'), el('th', {}, 'source'),
        el('th', {}, 'created'), el('th', {}, 'took'), el('th', {}, 'details'), el('th', {}))),
      el('tbody', {})));
    box.append(card);
    select.append(el('option', { value: name }, name));
    renderPrinterHead(name);
    renderJobs(name);
  }
  if (!state.printers.size) box.append(el('p', { class: 'muted' }, 'No printers configured.'));
}

function card(name) {
  return [...document.querySelectorAll('#printers .printer')]
    .find((c) => c.dataset.name === name);
}

function renderPrinterHead(name) {
  const p = state.printers.get(name);
  const c = card(name);
  if (!p || !c) return;
  c.querySelector('h3').replaceChildren(name,
    el('span', { class: 'badge status ' + (p.ok ? 'ok' : 'bad') }, p.status),
    el('span', { class: 'muted' }, p.connection));
  let meta = `queue ${p.queue}/${p.capacity}`;
  if (p.held) meta += `, ${p.held} held`;
  if (p.printing) meta += `, printing ${p.printing}`;
  if (p.paper_near_end) meta += ', paper near end';
  if (p.detail) meta += ` (${p.detail})`;
  const m = c.querySelector('.meta');
  m.textContent = meta;
  m.dataset.queue = p.queue;
}

function renderJobs(name) {
  const c = card(name);
  if (!c) return;
  const jobs = [...state.jobs.values()].filter((j) => j.printer === name)
    .sort((a, b) => b.created - a.created).slice(0, JOBS_SHOWN);
  const rows = jobs.map((j) => {
    const details = el('td', {});
    const progress = state.progress.get(j.id);
    if (progress && !['printed', 'failed', 'cancelled', 'expired'].includes(j.state)) {
      details.append(el('div', { class: 'muted' }, progress));
    }
    if (j.reason) details.append(el('div', { class: 'reason' }, j.reason));
    for (const w of j.warnings || []) details.append(el('div', { class: 'warning' }, '⚠ ' + w));
    const actions = el('td', {},
      el('button', { type: 'button', class: 'preview-btn', onclick: () => showJob(j.id) },
        'preview'));
    if (j.state === 'queued' || j.state === 'held') {
      actions.append(' ', el('button', { type: 'button', class: 'cancel-btn',
        onclick: () => send({ tipo: 'cancel', id: j.id }) }, 'cancel'));
    }
    return el('tr', { class: 'job' + (state.selected === j.id ? ' selected' : ''), 'data-id': j.id },
      el('td', { class: 'id', title: j.id }, j.id),
      el('td', {}, el('span', { class: 'badge state state-' + j.state }, j.state)),
      el('td', {}, j.source), el('td', {}, fmtTime(j.created)),
      el('td', {}, fmtSecs(j.started, j.finished)), details, actions);
  });
  if (!rows.length) {
    rows.push(el('tr', {}, el('td', { colspan: '7', class: 'muted' }, 'no jobs yet')));
  }
  c.querySelector('tbody').replaceChildren(...rows);
}

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
  const job = state.jobs.get(id);
  if (job) renderJobs(job.printer);
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

loadExamples();
connect();
