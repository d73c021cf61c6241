/* studio.js: the studio page: the run (loss charts, checkpoints), live sampling, compare,
   the weave composer, the sweep grid and kept texts, over the server's JSON API and its
   server-sent event streams. Every outside string reaches the page as textContent, never
   as markup. No network but this server. */
'use strict';

const $ = (id) => document.getElementById(id);
const SVGNS = 'http://www.w3.org/2000/svg';
const S = {
  run: null, view: 'run',
  sel: { sample: [], compare: [], weave: [] },   // checkpoint indices
  mixes: [],                                     // {kind:'blend'|'interpolate', w:{index: weight}}
  context: 'shared', space: 'prob',
  gen: null,                                     // the generation streaming: {id, ctrl, view}
  last: {},                                      // view -> {id, cols}
  sweep: { records: [], temps: [], extra: {} },
  timings: [],                                   // click -> first token, ms (read by the benchmark)
};
window.studio = S;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
function svg(tag, attrs, parent) {
  const e = document.createElementNS(SVGNS, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (parent) parent.appendChild(e);
  return e;
}
function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); }
function fmtBytes(b) {
  const u = ['B', 'KB', 'MB', 'GB']; let i = 0;
  while (b >= 1000 && i < u.length - 1) { b /= 1000; i++; }
  return (i ? b.toFixed(b < 10 ? 1 : 0) : b) + ' ' + u[i];
}

/* ---- colours: early moments cool, late warm (as the report) */
function hue(i) { const n = S.run ? S.run.checkpoints.length : 1; return n > 1 ? 220 - 205 * i / (n - 1) : 220; }
function ckColor(i, light) { return `hsl(${hue(i).toFixed(0)}, ${light ? '70%, 84%' : '55%, 52%'})`; }
const SOURCE_COLORS = ['#2f6f8f', '#b5533c', '#5f8a3a', '#8a5fa8', '#c28a1e', '#3f8f7a'];

/* ---- the API */
async function api(path, body) {
  const opt = body === undefined ? {} : { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
  const r = await fetch(path, opt);
  const j = await r.json().catch(() => ({ error: 'not JSON (' + r.status + ')' }));
  if (!r.ok) { const e = new Error(j.error || r.statusText); e.field = j.field; e.status = r.status; throw e; }
  return j;
}

/* POSTs body to /api/generate and calls onEvent(name, data) for each server-sent event. */
async function stream(body, onEvent, signal) {
  const r = await fetch('/api/generate', { method: 'POST', headers: { 'Content-Type': 'application/json' },
                                            body: JSON.stringify(body), signal });
  if (!r.ok) {
    const j = await r.json().catch(() => ({}));
    const e = new Error(j.error || ('HTTP ' + r.status)); e.field = j.field; e.status = r.status; throw e;
  }
  const reader = r.body.getReader(), dec = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let k;
    while ((k = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, k); buf = buf.slice(k + 2);
      let name = 'message', data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) name = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
      }
      if (data) onEvent(name, JSON.parse(data));
    }
  }
}

/* ---- views */
const SETTINGS_VIEWS = { sample: 1, compare: 1, weave: 1, sweep: 1 };
function show(view) {
  S.view = view;
  for (const b of $('tabs').children) b.classList.toggle('on', b.dataset.view === view);
  for (const v of document.querySelectorAll('.view')) v.classList.toggle('on', v.id === 'view-' + view);
  $('layout').classList.toggle('no-settings', !SETTINGS_VIEWS[view]);
  $('weave-settings').classList.toggle('hidden', view !== 'weave');
  $('timeline-wrap').classList.toggle('hidden', view === 'kept' || view === 'sweep');
  $('go').classList.toggle('hidden', view === 'sweep');
  $('stop-btn').classList.toggle('hidden', view === 'sweep');
  $('timeline-hint').textContent = {
    run: 'click a checkpoint to select it', sample: 'the moment that speaks',
    compare: 'pick 2 to 6 moments', weave: 'pick the moments that write the text',
  }[view] || '';
  if (view === 'kept') loadKept();
  if (view === 'sweep') loadSweepList();
  renderTimeline();
  updateGo();
  $('error').textContent = '';
}

function selKey() { return S.view === 'run' ? 'sample' : S.view; }
function pick(i) {
  const k = selKey(), sel = S.sel[k];
  if (k === 'sample') S.sel.sample = [i];
  else {
    const at = sel.indexOf(i), max = k === 'compare' ? 6 : 16;
    if (at >= 0) sel.splice(at, 1); else if (sel.length < max) sel.push(i);
    sel.sort((a, b) => a - b);   // moments in the order of training
    if (k === 'weave') renderMixes();
  }
  renderTimeline(); renderCkptTable(); drawCharts(); updateGo();
}

function renderTimeline() {
  const t = $('timeline'); clear(t);
  if (!S.run) return;
  t.appendChild(el('div', 'axis'));
  t.classList.toggle('dense', S.run.checkpoints.length > 24);
  const cks = S.run.checkpoints, lo = cks[0].step, hi = cks[cks.length - 1].step;
  const sel = S.sel[selKey()] || [];
  cks.forEach((c, i) => {
    const b = el('button', 'moment' + (sel.includes(i) ? ' on' : ''));
    b.type = 'button';
    b.dataset.index = i; b.dataset.step = c.step;
    b.style.left = (hi > lo ? 100 * (c.step - lo) / (hi - lo) : 50) + '%';
    const dot = el('span', 'dot'); dot.style.background = ckColor(i, false);
    b.appendChild(dot);
    const every = Math.ceil(cks.length / 10);   // a long run: every k-th label (and the picked ones)
    const label = el('span', 'step', c.step);
    if (i % every && i !== cks.length - 1 && !sel.includes(i)) label.classList.add('quiet');
    b.appendChild(label);
    b.title = `${c.name} · step ${c.step} · ${fmtBytes(c.bytes)} · ${c.kind}${c.resumable ? ' · resumable' : ''}`;
    b.addEventListener('click', () => pick(i));
    t.appendChild(b);
  });
}

function renderCkptTable() {
  const tb = $('ckpt-table'); clear(tb);
  const head = el('tr');
  for (const h of ['moment', 'step', 'size', 'kind', 'resumable']) head.appendChild(el('th', null, h));
  tb.appendChild(head);
  S.run.checkpoints.forEach((c, i) => {
    const tr = el('tr', S.sel.sample.includes(i) ? 'on' : '');
    const td = el('td'); const sw = el('span', 'sw'); sw.style.background = ckColor(i, false);
    td.appendChild(sw); td.appendChild(document.createTextNode(c.name)); tr.appendChild(td);
    tr.appendChild(el('td', null, c.step)); tr.appendChild(el('td', null, fmtBytes(c.bytes)));
    tr.appendChild(el('td', null, c.kind)); tr.appendChild(el('td', null, c.resumable ? 'yes' : 'weights only'));
    tr.addEventListener('click', () => { S.sel.sample = [i]; renderTimeline(); renderCkptTable(); drawCharts(); });
    tb.appendChild(tr);
  });
}

/* ---- charts (SVG): lines, curriculum bands, swaps, checkpoint marks that select */
function niceTicks(lo, hi, n) {
  if (!(hi > lo)) { hi = lo + 1; }
  const raw = (hi - lo) / n, p = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw);
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(+v.toFixed(10));
  return out;
}
function lineChart(host, o) {
  clear(host);
  const W = 560, H = 250, L = 46, R = 12, T = 30, B = 30;
  const s = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img' }, host);
  const pts = o.series.flatMap((x) => x.pts);
  if (!pts.length) { svg('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'empty' }, s).textContent = o.empty; return; }
  let ylo = Math.min(...pts.map((p) => p[1])), yhi = Math.max(...pts.map((p) => p[1]));
  if (yhi - ylo < 1e-6) { ylo -= 0.5; yhi += 0.5; }
  const pad = (yhi - ylo) * 0.08; ylo -= pad; yhi += pad;
  const xlo = o.xmin, xhi = o.xmax > o.xmin ? o.xmax : o.xmin + 1;
  const X = (x) => L + (W - L - R) * (x - xlo) / (xhi - xlo), Y = (y) => T + (H - T - B) * (1 - (y - ylo) / (yhi - ylo));
  for (const b of o.bands) svg('rect', { class: 'band', x: X(b.x0), y: T, width: Math.max(0, X(b.x1) - X(b.x0)), height: H - T - B, fill: b.color }, s);
  const g = svg('g', { class: 'grid' }, s), ax = svg('g', { class: 'axis' }, s);
  for (const v of niceTicks(ylo, yhi, 4)) {
    svg('line', { x1: L, x2: W - R, y1: Y(v), y2: Y(v) }, g);
    svg('text', { x: L - 6, y: Y(v) + 3, 'text-anchor': 'end' }, ax).textContent = v.toFixed(2);
  }
  for (const v of niceTicks(xlo, xhi, 6)) svg('text', { x: X(v), y: H - B + 14, 'text-anchor': 'middle' }, ax).textContent = v;
  svg('text', { x: W - R, y: H - 4, 'text-anchor': 'end' }, ax).textContent = 'step';
  for (const w of o.swaps) {
    const sg = svg('g', { class: 'swap' }, s);
    svg('line', { x1: X(w.x), x2: X(w.x), y1: T, y2: H - B }, sg);
    svg('text', { x: X(w.x) + 3, y: T + 10 }, sg).textContent = '→ ' + w.label;
  }
  o.series.forEach((sr) => {
    if (sr.pts.length > 1) svg('polyline', { class: 'series', stroke: sr.color, points: sr.pts.map((p) => X(p[0]).toFixed(1) + ',' + Y(p[1]).toFixed(1)).join(' ') }, s);
    if (sr.markers || sr.pts.length === 1) for (const p of sr.pts) svg('circle', { cx: X(p[0]), cy: Y(p[1]), r: 2.6, fill: sr.color }, s);
  });
  let lx = L;
  for (const sr of o.series) {
    if (!sr.name) continue;
    svg('rect', { x: lx, y: 9, width: 12, height: 3, fill: sr.color }, s);
    const t = svg('text', { x: lx + 16, y: 14, class: 'legend-t' }, s); t.textContent = sr.name;
    lx += 24 + 6.5 * sr.name.length;
  }
  S.run.checkpoints.forEach((c, i) => {   // the moments: triangles under the axis, clickable
    const x = X(c.step), on = S.sel.sample.includes(i);
    const tri = svg('path', { class: 'ck' + (on ? ' on' : ''), d: `M${x},${H - B} l-5,8 h10 z`, fill: ckColor(i, false) }, s);
    svg('title', {}, tri).textContent = `${c.name} (step ${c.step})`;
    tri.addEventListener('click', () => { S.sel.sample = [i]; renderTimeline(); renderCkptTable(); drawCharts(); });
  });
}

function drawCharts() {
  const r = S.run; if (!r) return;
  const cks = r.checkpoints, xmin = Math.min(cks[0].step, r.train.length ? r.train[0][0] : cks[0].step);
  const xmax = Math.max(cks[cks.length - 1].step, r.train.length ? r.train[r.train.length - 1][0] : 0);
  const sources = [...new Set(r.val.map((v) => v.source).concat(r.swaps.map((w) => w.source)))];
  const color = (src) => SOURCE_COLORS[sources.indexOf(src) % SOURCE_COLORS.length];
  const bands = r.swaps.map((w, k) => ({ x0: w.step - 0.5, x1: k + 1 < r.swaps.length ? r.swaps[k + 1].step - 0.5 : xmax, color: color(w.source) }));
  const swaps = r.swaps.length > 1 ? r.swaps.map((w) => ({ x: w.step - 0.5, label: w.source })) : [];
  const train = [{ name: 'training', color: '#1f1c18', pts: r.train }];
  if (r.train.length >= 80) {   // a trailing mean over 1/40 of the run
    const k = Math.max(2, Math.floor(r.train.length / 40)), m = [];
    for (let i = 0; i < r.train.length; i++) {
      const a = Math.max(0, i - k + 1); let sum = 0;
      for (let j = a; j <= i; j++) sum += r.train[j][1];
      m.push([r.train[i][0], sum / (i - a + 1)]);
    }
    train[0].color = '#b9b2a6'; train[0].name = 'training (each step)';
    train.push({ name: 'trailing mean', color: '#1f1c18', pts: m });
  }
  lineChart($('chart-train'), { series: train, bands, swaps, xmin, xmax, empty: 'no training steps logged yet' });
  const val = sources.map((src) => ({ name: src, color: color(src), markers: true,
    pts: r.val.filter((v) => v.source === src).map((v) => [v.step, v.loss]) })).filter((x) => x.pts.length);
  lineChart($('chart-val'), { series: val, bands, swaps, xmin, xmax, empty: 'no validation logged' });
}

/* ---- settings -> request */
function num(id) { return Number($(id).value); }
function unescapeStop(s) { return s.replace(/\\(n|t|\\)/g, (m, c) => (c === 'n' ? '\n' : c === 't' ? '\t' : '\\')); }
function scheduleSpec() {
  const kind = $('schedule').value, arg = $('schedule-arg').value.trim();
  if (kind === 'blocks') return 'blocks:' + (arg || '8');
  if (kind === 'random') return arg ? 'random:' + arg : 'random';
  if (kind === 'list') return 'list:' + arg;
  return kind;
}
function mixSpec(m) {
  return S.sel.weave.filter((i) => (m.w[i] || 0) > 0).map((i) => `${S.run.checkpoints[i].step}:${(m.w[i]).toFixed(2)}`).join(',');
}
function requestFor(view, cks) {
  const q = {
    mode: view === 'compare' ? 'compare' : view === 'weave' ? 'weave' : 'sample',
    checkpoints: cks.map((i) => S.run.checkpoints[i].step),
    prompt: $('prompt').value, length: num('length'), seed: num('seed'), temperature: num('temperature'),
    top_k: num('top_k'), top_p: num('top_p'), min_p: num('min_p'),
    repetition_penalty: num('repetition_penalty'), no_repeat_ngram: num('no_repeat_ngram'),
  };
  const stop = $('stop').value;
  if (stop) q.stop = [unescapeStop(stop)];
  if ($('ignore_eot').checked) q.ignore_eot = true;
  if (q.mode === 'weave') {
    q.schedule = scheduleSpec(); q.context = S.context;
    const blends = S.mixes.filter((m) => m.kind === 'blend').map(mixSpec).filter((x) => x);
    const interps = S.mixes.filter((m) => m.kind === 'interpolate').map(mixSpec).filter((x) => x);
    if (blends.length) { q.blend = blends; q.blend_space = S.space; }
    if (interps.length) q.interpolate = interps;
  }
  return q;
}
function updateGo() {
  const n = (S.sel[selKey()] || []).length, v = S.view;
  const ok = !S.gen && (v === 'sample' ? n === 1 : v === 'compare' ? n >= 2 && n <= 6 : v === 'weave' ? n >= 1 : false);
  $('go').disabled = !ok;
  $('go').textContent = v === 'compare' ? 'Compare' : v === 'weave' ? 'Weave' : 'Generate';
  $('stop-btn').disabled = !S.gen;
}

/* ---- token spans and the tooltip */
function memberSteps(v) {
  return (v.members || []).map((m) => `${S.run.checkpoints[m.checkpoint].step} (${Math.round(100 * m.weight)}%)`).join(' + ');
}
function voiceLabel(v) {
  if (!v) return '';
  if (v.kind === 'interpolate') return 'weights of steps ' + memberSteps(v);
  if (v.kind === 'blend') return 'blend of steps ' + memberSteps(v);
  const c = S.run.checkpoints[v.checkpoint];
  return c ? `${c.name} (step ${c.step})` : 'step ' + v.step;
}
/* A checkpoint's own tint; a mix takes the weighted hue of its members (interpolations paler). */
function voiceColor(v) {
  if (!v) return '#eee';
  if (v.kind === 'checkpoint') return ckColor(v.checkpoint, true);
  let x = 0, y = 0;
  for (const m of v.members) { const h = hue(m.checkpoint) * Math.PI / 180; x += m.weight * Math.cos(h); y += m.weight * Math.sin(h); }
  const h = (Math.atan2(y, x) * 180 / Math.PI + 360) % 360;
  return v.kind === 'blend' ? `hsl(${h.toFixed(0)}, 60%, 80%)` : `hsl(${h.toFixed(0)}, 30%, 86%)`;
}
function tokenSpan(ev, voices) {
  const sp = el('span', 'tok fresh', ev.t);
  const v = voices[ev.v];
  sp.style.background = voiceColor(v);
  if (v && v.kind !== 'checkpoint') sp.style.textDecoration = v.kind === 'blend' ? 'underline dotted' : 'underline double';
  sp.dataset.voice = ev.v; sp.dataset.p = ev.p; sp.dataset.id = ev.id;
  sp.style.setProperty('--surprise', Math.min(1, -Math.log10(Math.max(ev.p, 1e-6)) / 3).toFixed(2));   // 1: p <= 0.001
  sp.dataset.who = voiceLabel(v);
  return sp;
}
function wireTip(host) {
  const tip = $('tip');
  host.addEventListener('mouseover', (e) => {
    const t = e.target.closest('.tok'); if (!t) return;
    clear(tip);
    tip.appendChild(el('b', null, t.dataset.who || 'the prompt'));
    if (t.dataset.p !== undefined) tip.appendChild(el('div', null, `probability ${(100 * Number(t.dataset.p)).toFixed(1)}% · token ${t.dataset.id}`));
    tip.classList.add('on');
  });
  host.addEventListener('mousemove', (e) => { tip.style.left = (e.clientX + 14) + 'px'; tip.style.top = (e.clientY + 16) + 'px'; });
  host.addEventListener('mouseout', (e) => { if (e.target.closest('.tok')) tip.classList.remove('on'); });
}

/* An output area: the prompt (quiet), then tokens as they come, then a status line. */
function textArea(host) {
  clear(host);
  const prompt = $('prompt').value;
  if (prompt) host.appendChild(el('span', 'prompt-text', prompt));
  const caret = el('span', 'caret');
  host.appendChild(caret);
  return { host, caret, voices: [], n: 0 };
}

/* ---- generate / stop */
async function generate() {
  const view = S.view, cks = S.sel[view].slice();
  const q = requestFor(view, cks);
  $('error').textContent = '';
  const t0 = performance.now();
  let first = true;
  const areas = [];
  if (view === 'compare') {
    const host = $('compare-out'); clear(host);
    cks.forEach((i, c) => {
      const col = el('div', 'column'); col.style.borderTopColor = ckColor(i, false);
      const head = el('div', 'col-head'); head.appendChild(el('b', null, 'step ' + S.run.checkpoints[i].step));
      const kb = el('button', 'keep', 'Keep'); kb.disabled = true; kb.dataset.col = c; head.appendChild(kb);
      const body = el('div', 'col-text'); col.appendChild(head); col.appendChild(body);
      const st = el('div', 'status'); col.appendChild(st);
      host.appendChild(col); wireTip(body);
      areas.push(Object.assign(textArea(body), { keep: kb, status: st }));
    });
  } else {
    const host = $(view + '-out');
    areas.push(Object.assign(textArea(host), { keep: $(view + '-keep'), status: null }));
    $(view + '-keep').disabled = true; $(view + '-keep').classList.remove('kept'); $(view + '-keep').textContent = 'Keep';
    if (view === 'weave') { clear($('weave-strip')); clear($('weave-legend')); }
  }
  const ctrl = new AbortController();
  S.gen = { id: null, ctrl, view };
  updateGo();
  const meta = $(view + '-meta');
  if (meta) meta.textContent = 'waiting…';
  try {
    await stream(q, (name, d) => {
      if (name === 'queued') { S.gen.id = d.generation; if (meta) meta.textContent = `waiting: ${d.ahead} ahead`; }
      if (name === 'start') {
        S.gen.id = d.generation;
        d.columns.forEach((c, k) => { areas[k].voices = c.voices; });
        if (meta) meta.textContent = 'writing…';
        if (view === 'weave') legend(d.columns[0].voices);
      }
      if (name === 'token') {
        const a = areas[d.c];
        a.host.insertBefore(tokenSpan(d, a.voices), a.caret);
        a.n++;
        if (view === 'weave') { const s = el('span'); s.style.background = voiceColor(a.voices[d.v]); $('weave-strip').appendChild(s); }
        if (first) { first = false; S.timings.push(performance.now() - t0); }
      }
      if (name === 'end') {
        const a = areas[d.c];
        a.caret.remove();
        const m = d.measures, txt = `${d.tokens} tokens · ended by ${d.stop}` + (m.degenerate ? ' · degenerate' : '') +
          ` · distinct-2 ${m.distinct_2.toFixed(2)}`;
        if (a.status) a.status.textContent = txt; else if (meta) meta.textContent = txt;
        a.keep.disabled = false;
      }
      if (name === 'error') { $('error').textContent = d.error; }
      if (name === 'done') { S.last[view] = { id: d.generation, areas }; }
    }, ctrl.signal);
  } catch (e) {
    if (e.name !== 'AbortError') {
      $('error').textContent = (e.field ? e.field + ': ' : '') + e.message.replace(/^[a-z_]+: /, '');
      if (meta) meta.textContent = '';
    } else if (meta) meta.textContent = 'stopped';
    for (const a of areas) a.caret.remove();
  }
  S.gen = null;
  updateGo();
}
async function stopGen() {
  const g = S.gen; if (!g) return;
  if (g.id) { try { await api('/api/stop', { generation: g.id }); } catch (e) { g.ctrl.abort(); } }
  else g.ctrl.abort();   // not started yet: closing the stream stops it too
}
async function keep(view, col, btn) {
  const last = S.last[view]; if (!last) return;
  try {
    await api('/api/keep', { generation: last.id, column: col });
    btn.textContent = 'Kept ✓'; btn.classList.add('kept'); btn.disabled = true;
    refreshKeptCount();
  } catch (e) { $('error').textContent = e.message; }
}

function legend(voices) {
  const lg = $('weave-legend'); clear(lg);
  voices.forEach((v, k) => {
    const chip = el('span', 'chip'); const sw = el('span', 'sw'); sw.style.background = voiceColor(v);
    chip.appendChild(sw); chip.appendChild(document.createTextNode(voiceLabel(v))); lg.appendChild(chip);
  });
}

/* ---- the weave composer: blends and interpolations over the picked moments */
function renderMixes() {
  const host = $('mixes'); clear(host);
  S.mixes.forEach((m, k) => {
    const box = el('div', 'mix'); const head = el('div', 'mix-title');
    head.appendChild(el('b', null, (m.kind === 'blend' ? 'blend ' : 'interpolation ') + (k + 1)));
    const rm = el('button', 'small', 'remove'); rm.addEventListener('click', () => { S.mixes.splice(k, 1); renderMixes(); });
    head.appendChild(rm); box.appendChild(head);
    if (!S.sel.weave.length) box.appendChild(el('div', 'meta', 'pick moments first'));
    for (const i of S.sel.weave) {
      const row = el('label', 'member'); row.appendChild(el('span', null, 'step ' + S.run.checkpoints[i].step));
      const r = el('input'); r.type = 'range'; r.min = 0; r.max = 1; r.step = 0.05; r.value = m.w[i] || 0;
      const out = el('span', null, Number(r.value).toFixed(2));
      r.addEventListener('input', () => { m.w[i] = Number(r.value); out.textContent = m.w[i].toFixed(2); });
      row.appendChild(r); row.appendChild(out); box.appendChild(row);
    }
    host.appendChild(box);
  });
  $('blend-space').classList.toggle('hidden', !S.mixes.some((m) => m.kind === 'blend'));
}
function addMix(kind) {
  const w = {}; const sel = S.sel.weave;
  if (sel.length) { w[sel[0]] = 0.5; w[sel[sel.length - 1]] = 0.5; }
  S.mixes.push({ kind, w }); renderMixes();
}
function segment(id, set) {
  for (const b of $(id).children) b.addEventListener('click', () => {
    for (const o of $(id).children) o.classList.toggle('on', o === b); set(b.dataset.v);
  });
}

/* ---- sweep grid */
async function loadSweepList() {
  const sel = $('sweep-file'), cur = sel.value;
  try {
    const j = await api('/api/sweeps');
    while (sel.options.length > 1) sel.remove(1);
    for (const n of j.sweeps) { const o = el('option', null, n); o.value = n; sel.appendChild(o); }
    if (!cur && j.sweeps.length) sel.value = j.sweeps[0];
    else sel.value = cur;
  } catch (e) { $('error').textContent = e.message; }
  await loadSweep();
}
async function loadSweep() {
  const name = $('sweep-file').value;
  S.sweep.records = []; S.sweep.extra = {};
  try {
    const j = await api('/api/sweep?name=' + encodeURIComponent(name));
    S.sweep.records = j.records;
    for (const c of j.cells) S.sweep.extra[cellKey(c.step, c.temperature)] = c;   // cells written on earlier clicks
  } catch (e) { $('error').textContent = e.message; }
  const temps = [...new Set(S.sweep.records.map((r) => r.temperature))].sort((a, b) => a - b);
  if (temps.length) $('sweep-temps').value = temps.join(',');
  renderSweep();
}
function sweepTemps() {
  return $('sweep-temps').value.split(',').map((x) => Number(x.trim())).filter((x) => x >= 0 && isFinite(x));
}
function cellKey(step, t) { return step + '|' + t; }
function renderSweep() {
  const grid = $('sweep-grid'); clear(grid);
  const temps = sweepTemps(), byCell = {};
  for (const r of S.sweep.records) (byCell[cellKey(r.step, r.temperature)] = byCell[cellKey(r.step, r.temperature)] || []).push(r);
  const head = el('tr'); head.appendChild(el('th', null, ''));
  for (const t of temps) head.appendChild(el('th', null, 'temperature ' + t));
  grid.appendChild(head);
  S.run.checkpoints.forEach((c, i) => {
    const tr = el('tr'); const th = el('th'); const sw = el('span', 'sw');
    th.appendChild(document.createTextNode('step ' + c.step)); tr.appendChild(th);
    th.style.borderLeft = '4px solid ' + ckColor(i, false); th.style.paddingLeft = '6px'; void sw;
    for (const t of temps) {
      const recs = byCell[cellKey(c.step, t)] || (S.sweep.extra[cellKey(c.step, t)] ? [S.sweep.extra[cellKey(c.step, t)]] : []);
      const td = el('td', 'cell');
      td.dataset.step = c.step; td.dataset.temperature = t;
      if (!recs.length) {
        td.classList.add('missing'); td.textContent = 'generate';
        td.title = 'not in the sweep: click to write it now';
        td.addEventListener('click', () => sweepCell(td, i, t), { once: true });
      } else fillCell(td, recs);
      tr.appendChild(td);
    }
    grid.appendChild(tr);
  });
}
function fillCell(td, recs) {
  clear(td); td.classList.remove('missing');
  const degen = recs.some((r) => r.degenerate);
  td.classList.toggle('degenerate', degen);
  for (const r of recs) {
    const box = el('span', 'txt');
    if (r.degenerate) box.appendChild(el('span', 'flag', 'degenerate'));
    box.appendChild(document.createTextNode(r.text));
    td.appendChild(box);
    td.appendChild(el('span', 'measures', `seed ${r.seed} · distinct-1 ${(+r.distinct_1).toFixed(2)} · distinct-2 ${(+r.distinct_2).toFixed(2)} · ` +
      `longest repeat ${r.longest_repeat} · repeated ${(100 * r.repeat_share).toFixed(0)}%`));
  }
}
async function sweepCell(td, i, t) {
  const base = S.sweep.records[0], q = requestFor('sample', [i]);
  q.temperature = t;
  if (base) {   // the sweep's own settings, so the cell belongs to its grid
    const st = base.settings || {};
    q.prompt = base.prompt || ''; q.seed = base.seed - (base.sample || 0);
    for (const k of ['length', 'top_k', 'top_p', 'min_p', 'repetition_penalty', 'no_repeat_ngram']) if (st[k] !== undefined) q[k] = st[k];
    if (st.stop && st.stop.length) q.stop = st.stop.slice(0, 4); else delete q.stop;
  }
  clear(td); td.classList.remove('missing'); td.classList.add('writing');
  const box = el('span', 'txt'); td.appendChild(box);
  let text = '', gen = null;
  try {
    await stream(q, (name, d) => {
      if (name === 'start') gen = d.generation;
      if (name === 'token') { text += d.t; box.textContent = text; }
      if (name === 'end') {
        const rec = Object.assign({ step: S.run.checkpoints[i].step, temperature: t, seed: q.seed, text: d.text }, d.measures);
        S.sweep.extra[cellKey(rec.step, t)] = rec; fillCell(td, [rec]);
      }
    });
    if (gen) await api('/api/cell', { generation: gen, sweep: $('sweep-file').value });   // kept for the next visit
  } catch (e) { td.textContent = e.message; }
  td.classList.remove('writing');
}

/* ---- kept */
async function refreshKeptCount() {
  try { const j = await api('/api/kept'); $('keptcount').textContent = j.kept.length || ''; return j; } catch (e) { return { kept: [] }; }
}
async function loadKept() {
  const j = await refreshKeptCount(), host = $('kept-list'); clear(host);
  if (!j.kept.length) host.appendChild(el('p', 'placeholder', 'Nothing kept yet: press Keep under any text.'));
  for (const r of j.kept.slice().reverse()) {
    const card = el('div', 'kept-card'); card.dataset.kept = r.kept;
    const head = el('div', 'kept-head');
    head.appendChild(el('b', null, `${r.kind} ${r.kept}`));
    head.appendChild(el('span', 'meta', (r.checkpoints || []).map((c) => 'step ' + c.step).join(', ') +
      ` · temperature ${r.settings.temperature} · seed ${r.settings.seed}` + (r.settings.schedule ? ' · ' + r.settings.schedule : '') + ` · ${r.at}`));
    card.appendChild(head);
    const t = el('div', 'kept-text');
    if (r.settings.prompt) t.appendChild(el('span', 'prompt-text', r.settings.prompt));
    t.appendChild(document.createTextNode(r.text));
    card.appendChild(t);
    card.appendChild(el('div', 'cmd', 'cd RUN && ' + r.argv.map(shellQuote).join(' ')));
    const dl = el('div', 'dl');
    for (const f of ['text', 'html']) {
      const a = el('a', null, 'download ' + (f === 'text' ? 'text' : 'page'));
      a.dataset.format = f;
      a.addEventListener('mouseenter', () => { a.href = downloadUrl(r.kept, f); });
      a.addEventListener('focus', () => { a.href = downloadUrl(r.kept, f); });
      a.href = downloadUrl(r.kept, f);
      a.setAttribute('download', `kept-${r.kept}.${f === 'html' ? 'html' : 'txt'}`);
      dl.appendChild(a);
    }
    const cmd = 'cd RUN && ' + r.argv.map(shellQuote).join(' ');
    const copy = el('button', null, 'copy command');
    copy.addEventListener('click', () => navigator.clipboard.writeText(cmd).then(() => { copy.textContent = 'copied'; }, () => { copy.textContent = 'select it above'; }));
    dl.appendChild(copy);
    card.appendChild(dl);
    host.appendChild(card);
  }
}
function downloadUrl(k, f) {
  const p = new URLSearchParams({ kept: k, format: f, width: $('dl-width').value, page_width: $('dl-page').value,
                                  align: $('dl-align').value, reflow: $('dl-reflow').checked ? 1 : 0 });
  return '/api/download?' + p.toString();
}
function shellQuote(s) { return /^[A-Za-z0-9_.,:=\/-]+$/.test(s) ? s : "'" + s.replace(/'/g, "'\\''") + "'"; }

/* ---- start */
async function init() {
  for (const b of $('tabs').children) b.addEventListener('click', () => show(b.dataset.view));
  $('go').addEventListener('click', generate);
  $('stop-btn').addEventListener('click', stopGen);
  $('sample-keep').addEventListener('click', (e) => keep('sample', 0, e.currentTarget));
  $('weave-keep').addEventListener('click', (e) => keep('weave', 0, e.currentTarget));
  $('compare-out').addEventListener('click', (e) => { const b = e.target.closest('.keep'); if (b) keep('compare', Number(b.dataset.col), b); });
  $('temperature').addEventListener('input', () => { $('temperature-out').textContent = $('temperature').value; });
  $('schedule').addEventListener('change', () => {
    const k = $('schedule').value, lab = { blocks: 'tokens per block', random: 'seed (optional)', list: 'writers: steps, e.g. 4,12,4' }[k];
    $('schedule-arg-wrap').classList.toggle('hidden', !lab);
    if (lab) $('schedule-arg-label').textContent = lab;
  });
  $('add-blend').addEventListener('click', () => addMix('blend'));
  $('add-interp').addEventListener('click', () => addMix('interpolate'));
  segment('context', (v) => { S.context = v; });
  segment('blend-space', (v) => { S.space = v; });
  $('sweep-file').addEventListener('change', loadSweep);
  $('sweep-temps').addEventListener('change', renderSweep);
  for (const id of ['dl-width', 'dl-page', 'dl-align', 'dl-reflow']) $(id).addEventListener('change', () => { if (S.view === 'kept') loadKept(); });
  wireTip($('sample-out')); wireTip($('weave-out'));
  for (const box of document.querySelectorAll('.surprise input'))
    box.addEventListener('change', () => $(box.dataset.target).classList.toggle('by-prob', box.checked));
  try {
    S.run = await api('/api/run');
  } catch (e) { $('runname').textContent = 'cannot read the run: ' + e.message; return; }
  $('runname').textContent = S.run.run;
  $('runname').title = `n_layer ${S.run.config.n_layer} · n_embd ${S.run.config.n_embd} · n_ctx ${S.run.config.n_ctx} · vocabulary ${S.run.config.vocab_size}`;
  $('length').max = S.run.limits.length;
  const n = S.run.checkpoints.length;
  S.sel.sample = [n - 1];
  S.sel.compare = n > 1 ? [0, n - 1] : [0];
  S.sel.weave = n > 2 ? [0, Math.floor(n / 2), n - 1] : S.run.checkpoints.map((c, i) => i);
  $('run-args').textContent = S.run.args.length ? 'palimpsest train ' + S.run.args.map(shellQuote).join(' ') : 'run.json is missing';
  renderCkptTable(); drawCharts(); renderMixes(); show('run'); refreshKeptCount();
  document.body.dataset.ready = '1';
}
document.addEventListener('DOMContentLoaded', init);
