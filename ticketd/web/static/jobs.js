// ticketd dashboard: the printers (status, test page, pause/resume, clear the queue) and
// the last JOBS_KEPT jobs of every printer (search by id, pages of PAGE_SIZE; per job a
// preview, a reprint, a cancel). Loaded after app.js, whose helpers it uses.
'use strict';

const JOBS_KEPT = 200;  // as many as the snapshot sends
const PAGE_SIZE = 25;
const FINAL = ['printed', 'failed', 'cancelled', 'expired', 'interrupted'];
const PAUSED = 'Waiting: Paused by the operator';

function opStatus(text, ok) {
  const s = $('op-status');
  s.textContent = text;
  s.className = ok ? 'muted' : 'messages';
}

function searchStatus(text, ok) {
  const s = $('search-status');
  s.textContent = text;
  s.className = ok ? 'muted' : 'messages';
}

function requestId(kind) {
  return `dash-${kind}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 5)}`;
}

// --- printers ---------------------------------------------------------------------------------
function renderPrinters() {
  const box = $('printers');
  box.replaceChildren();
  const select = $('printer-select');
  select.replaceChildren(el('option', { value: '' }, 'from profile.model'));
  for (const name of state.printers.keys()) {
    box.append(el('div', { class: 'printer', 'data-name': name },
      el('h3', {}), el('div', { class: 'meta muted' }),
      el('div', { class: 'row actions' },
        el('button', { type: 'button', class: 'test-page-btn', onclick: () => testPage(name) },
          'Test page'),
        el('button', { type: 'button', class: 'pause-btn', onclick: () => togglePause(name) },
          'Pause'),
        el('button', { type: 'button', class: 'clear-btn danger',
          onclick: () => clearQueue(name) }, 'Clear queue'))));
    select.append(el('option', { value: name }, name));
    renderPrinterHead(name);
  }
  if (!state.printers.size) box.append(el('p', { class: 'muted' }, 'No printers configured.'));
  jobsChanged();
}

function card(name) {
  return [...document.querySelectorAll('#printers .printer')]
    .find((c) => c.dataset.name === name);
}

function renderPrinterHead(name) {
  const p = state.printers.get(name);
  const c = card(name);
  if (!p || !c) return;
  c.querySelector('h3').replaceChildren(...[name,
    el('span', { class: 'badge status ' + (p.ok ? 'ok' : 'bad') }, p.status),
    p.paused ? el('span', { class: 'badge paused' }, 'paused') : null,
    el('span', { class: 'muted' }, p.connection)].filter((n) => n !== null));
  let meta = `queue ${p.queue}/${p.capacity}`;
  if (p.held) meta += `, ${p.held} held`;
  if (p.printing) meta += `, printing ${p.printing}`;
  if (p.paper_near_end) meta += ', paper near end';
  if (p.detail) meta += ` (${p.detail})`;
  const m = c.querySelector('.meta');
  m.textContent = meta;
  m.dataset.queue = p.queue;
  const pause = c.querySelector('.pause-btn');
  pause.textContent = p.paused ? 'Resume' : 'Pause';
  c.dataset.paused = p.paused ? 'true' : 'false';
}

function testPage(name) {
  const id = requestId('test');
  if (send({ tipo: 'test_page', id, datos: { printer: name } })) {
    opStatus(`test page ${id} sent to ${name}…`, true);
  } else opStatus('not connected', false);
}

function togglePause(name) {
  const p = state.printers.get(name);
  if (!send({ tipo: p && p.paused ? 'resume' : 'pause', datos: { printer: name } })) {
    opStatus('not connected', false);
  }
}

function clearQueue(name) {
  const p = state.printers.get(name);
  const n = p ? p.queue : 0;
  if (!confirm(`Cancel every queued job on ${name}? (${n} in its queue; a job being ` +
               'printed is not stopped)')) return;
  if (!send({ tipo: 'clear', datos: { printer: name } })) opStatus('not connected', false);
}

// --- jobs --------------------------------------------------------------------------------------
// Redrawn at most once per 50 ms: a burst of events makes one redraw.
function jobsChanged() {
  if (state.renderTimer) return;
  state.renderTimer = setTimeout(() => { state.renderTimer = null; renderJobs(); }, 50);
}

function keepNewest() {
  if (state.jobs.size <= JOBS_KEPT) return;
  const old = [...state.jobs.values()].sort((a, b) => b.created - a.created).slice(JOBS_KEPT);
  for (const j of old) { state.jobs.delete(j.id); state.progress.delete(j.id); }
}

// Why a waiting job waits: the operator's pause, its printer's fault, or its last news.
function waitingText(j) {
  const p = state.printers.get(j.printer);
  if (j.state === 'queued' && p && p.paused) return PAUSED;
  if (j.state === 'held') {
    if (p && !p.ok) return 'Waiting: ' + p.status;
    return state.progress.get(j.id) || 'Waiting for the printer';
  }
  return FINAL.includes(j.state) ? null : state.progress.get(j.id) || null;
}

function jobRow(j) {
  const details = el('td', { class: 'details' });
  const waiting = waitingText(j);
  if (waiting) details.append(el('div', { class: 'waiting' }, waiting));
  if (j.reason && j.reason !== waiting) details.append(el('div', { class: 'reason' }, j.reason));
  for (const w of j.warnings || []) details.append(el('div', { class: 'warning' }, '⚠ ' + w));
  if (j.reprint_of) details.append(el('div', { class: 'muted' }, 'reprint of ' + j.reprint_of));
  const actions = el('td', { class: 'actions' },
    el('button', { type: 'button', class: 'preview-btn', onclick: () => showJob(j.id) },
      'Preview'));
  if (FINAL.includes(j.state)) {
    actions.append(el('button', { type: 'button', class: 'reprint-btn',
      onclick: () => reprint(j.id) }, 'Reprint'));
  }
  if (j.state === 'queued' || j.state === 'held') {
    actions.append(el('button', { type: 'button', class: 'cancel-btn danger',
      onclick: () => send({ tipo: 'cancel', id: j.id }) }, 'Cancel'));
  }
  return el('tr', { class: 'job' + (state.selected === j.id ? ' selected' : ''),
    'data-id': j.id, 'data-printer': j.printer, 'data-state': j.state },
  el('td', { class: 'id', title: j.id }, j.id),
  el('td', { class: 'printer-name' }, j.printer),
  el('td', {}, el('span', { class: 'badge state state-' + j.state }, j.state)),
  el('td', { class: 'time' }, fmtTime(j.created)),
  el('td', {}, fmtSecs(j.started, j.finished)), details, actions);
}

function renderJobs() {
  keepNewest();
  const needle = state.filter.toLowerCase();
  const jobs = [...state.jobs.values()]
    .filter((j) => !needle || j.id.toLowerCase().includes(needle))
    .sort((a, b) => b.created - a.created);
  const pages = Math.max(1, Math.ceil(jobs.length / PAGE_SIZE));
  state.page = Math.min(state.page, pages - 1);
  const shown = jobs.slice(state.page * PAGE_SIZE, (state.page + 1) * PAGE_SIZE);
  const rows = shown.map(jobRow);
  if (!rows.length) {
    rows.push(el('tr', { class: 'empty' }, el('td', { colspan: '7', class: 'muted' },
      needle ? `no job id containing "${state.filter}" among the last ${JOBS_KEPT}` :
        'no jobs yet')));
  }
  $('jobs').querySelector('tbody').replaceChildren(...rows);
  $('jobs-count').textContent = needle ? `${jobs.length} of ${state.jobs.size}` :
    `last ${state.jobs.size}`;
  $('page-info').textContent = `page ${state.page + 1} of ${pages}`;
  $('prev-page').disabled = state.page === 0;
  $('next-page').disabled = state.page >= pages - 1;
  $('pager').hidden = pages <= 1;
}

function reprint(id) {
  if (send({ tipo: 'reprint', datos: { job: id } })) opStatus(`reprinting ${id}…`, true);
  else opStatus('not connected', false);
}

// --- search: as you type among the jobs shown; Find asks the daemon for an id not listed ---
function foundJob(msg) {
  const job = state.jobs.get(msg.id);
  searchStatus(`job ${msg.id} on ${msg.printer}: ${msg.state} (${msg.mensaje})` +
               (job ? '' : `: older than the last ${JOBS_KEPT} jobs`), true);
}

$('job-search').addEventListener('input', (e) => {
  state.filter = e.target.value.trim();
  state.page = 0;
  searchStatus('', true);
  renderJobs();
});
$('search-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const id = $('job-search').value.trim();
  if (!id) return;
  state.lookup = id;
  if (!send({ tipo: 'job_status', id })) searchStatus('not connected', false);
});
$('prev-page').addEventListener('click', () => { state.page -= 1; renderJobs(); });
$('next-page').addEventListener('click', () => { state.page += 1; renderJobs(); });
