/*
 * edge-lb dashboard, in the browser: polls the page's live JSON (body[data-live], worker/dashboard/
 * live.ts) every 2 s, writes the server-formatted cells into the server-rendered tables in place
 * (rows by data-k, cells by data-f: focus and forms are left alone), computes each origin's recent
 * share from the request counts, and draws the charts with uPlot. Without JavaScript the page is
 * complete, only static. State kept here is capped (MAX_POLLS).
 */
/* global document, window, location, CSS, uPlot */
(function () {
  'use strict';
  const url = document.body.dataset.live;
  if (!url) return;
  const EVERY_MS = 2000;
  /** Polls the share is computed over (3 polls: the last ~6 s). */
  const SHARE_POLLS = 3;
  /** Polls kept for the charts without metrics (10 minutes). */
  const MAX_POLLS = 300;
  const PALETTE = ['#0a58ca', '#b35900', '#116329', '#a40e26', '#6639ba', '#0e7490', '#7d4e00', '#57606a'];
  const polls = [];
  const charts = {};
  const status = document.querySelector('[data-live-status]');
  /** For tests and the curious: the charts' data and the shares last shown. */
  const state = (window.edgeLb = { polls: 0, shares: {}, charts: {} });

  const find = (k) => document.querySelector(`[data-k="${CSS.escape(k)}"]`);
  function setCell(scope, field, text, tone) {
    const el = scope && scope.querySelector(`[data-f="${field}"]`);
    if (!el) return;
    if (el.textContent !== text) el.textContent = text;
    if (tone) el.className = el.className.replace(/tone-\w+/, `tone-${tone}`);
  }
  function setCells(scope, cells, tone, toneField) {
    for (const [f, text] of Object.entries(cells)) setCell(scope, f, text, f === toneField ? tone : undefined);
  }

  /** Requests per key over the last `n` polls, and the seconds they span. */
  function deltas(n) {
    const last = polls[polls.length - 1];
    const first = polls[Math.max(0, polls.length - 1 - n)];
    const out = {};
    for (const k of Object.keys(last.totals)) out[k] = Math.max(0, last.totals[k] - (first.totals[k] ?? last.totals[k]));
    return { out, seconds: (last.at - first.at) / 1000 };
  }

  function shares() {
    if (polls.length < 2) return {};
    const { out } = deltas(SHARE_POLLS);
    const sum = Object.values(out).reduce((a, b) => a + b, 0);
    const res = {};
    for (const k of Object.keys(out)) res[k] = sum ? (100 * out[k]) / sum : null;
    return res;
  }

  function chart(name, series, data) {
    const el = document.querySelector(`[data-chart="${name}"]`);
    if (!el || typeof uPlot === 'undefined') return;
    state.charts[name] = { labels: series.map((s) => s.label), data };
    const note = el.querySelector('p');
    if (note && data[0].length) note.hidden = true;
    const key = series.map((s) => s.label).join('|');
    const width = Math.max(240, el.clientWidth - 16);
    if (charts[name] && charts[name].key === key) return charts[name].plot.setData(data);
    if (charts[name]) charts[name].plot.destroy();
    const opts = {
      width,
      height: 180,
      legend: { show: true },
      scales: { x: { time: true } },
      series: [{}].concat(series.map((s, i) => ({ label: s.label, stroke: PALETTE[i % PALETTE.length], width: 2, spanGaps: false }))),
    };
    charts[name] = { key, plot: new uPlot(opts, data, el) };
  }

  /** Chart columns from the polls themselves (no traffic metrics): requests/s and shares per poll. */
  function fromPolls(keys) {
    const t = [];
    const rate = [];
    const share = keys.map(() => []);
    for (let i = 1; i < polls.length; i++) {
      const a = polls[i - 1];
      const b = polls[i];
      const d = keys.map((k) => Math.max(0, (b.totals[k] ?? 0) - (a.totals[k] ?? 0)));
      const sum = d.reduce((x, y) => x + y, 0);
      t.push(b.at / 1000);
      rate.push(sum / ((b.at - a.at) / 1000));
      d.forEach((x, j) => share[j].push(sum ? (100 * x) / sum : null));
    }
    return { t, rate, share };
  }

  function drawLb(data, keys) {
    const names = keys.map((k) => k.split('/').slice(1).join('/'));
    const s = data.series;
    state.source = s ? 'metrics' : 'polls';
    if (s) {
      chart('rate', [{ label: 'requests/s' }], [s.t, s.rate]);
      chart(
        'share',
        names.map((label) => ({ label })),
        [s.t].concat(keys.map((k) => s.share[k] || s.t.map(() => null))),
      );
      chart('latency', [{ label: 'p50' }, { label: 'p95' }, { label: 'p99' }], [s.t, s.p50, s.p95, s.p99]);
    } else {
      const p = fromPolls(keys);
      chart('rate', [{ label: 'requests/s' }], [p.t, p.rate]);
      chart(
        'share',
        names.map((label) => ({ label })),
        [p.t].concat(p.share),
      );
    }
  }

  function applyLb(data) {
    setCell(document, 'lb-enabled', data.enabled ? 'enabled' : 'disabled', data.enabled ? 'ok' : 'off');
    setCell(document, 'rate', data.summary.rate);
    setCell(document, 'errors', data.summary.errors);
    for (const [id, line] of Object.entries(data.pools)) setCell(document.querySelector(`[data-pool="${CSS.escape(id)}"]`), 'verdict', line.text, line.tone);
    for (const [k, o] of Object.entries(data.origins)) setCells(find(k), o.cells, o.tone, 'health');
    const share = shares();
    state.shares = share;
    for (const k of Object.keys(data.origins)) setCell(find(k), 'share', share[k] == null ? '–' : `${Math.round(share[k])} %`);
    const body = document.querySelector('[data-events]');
    if (body) {
      body.replaceChildren(
        ...data.events.map((e) => {
          const tr = document.createElement('tr');
          for (const v of [e.at, e.subject, e.change, e.reason]) tr.appendChild(document.createElement('td')).textContent = v;
          return tr;
        }),
      );
    }
    drawLb(data, Object.keys(data.origins));
  }

  function applyOverview(data) {
    const { out, seconds } = polls.length > 1 ? deltas(1) : { out: {}, seconds: 0 };
    for (const [id, r] of Object.entries(data.rows)) {
      const row = find(id);
      setCells(row, r.cells, r.tone, 'status');
      // Without traffic metrics, requests/s from the counts between two polls.
      if (r.cells.rate === '–' && seconds > 0 && id in out) setCell(row, 'rate', (out[id] / seconds).toFixed(1));
    }
  }

  async function tick() {
    try {
      const res = await fetch(url, { headers: { accept: 'application/json' }, credentials: 'same-origin' });
      if (res.status === 401) return location.assign('/dashboard/sign-in?why=expired');
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const data = await res.json();
      const totals = {};
      for (const [k, o] of Object.entries(data.origins || data.rows)) totals[k] = o.total;
      polls.push({ at: data.at, totals });
      if (polls.length > MAX_POLLS) polls.shift();
      if (data.origins) applyLb(data);
      else applyOverview(data);
      state.polls++;
      if (status) status.textContent = `Live: updated ${new Date(data.at).toLocaleTimeString()}`;
    } catch (e) {
      if (status) status.textContent = `Live updates paused (${e.message}); retrying`;
    }
    window.setTimeout(tick, EVERY_MS);
  }
  tick();
})();
