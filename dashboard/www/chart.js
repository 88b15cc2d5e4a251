/* A small SVG time-series chart, written for this project (no library).
 *
 *   waChart(el, {t, avg, min, max, unit, tz, lang, markers: [{t, label}],
 *                band: {lo, hi, label}, height, title,
 *                lines: [{v, cls, label}], hlines: [{v, cls, label}],
 *                shade: [{from, to, label}], legend: [{cls, label}], lineLabel})
 *
 * lines are more series on the same steps as avg (drawn the same way, each with its class);
 * hlines are levels across the plot (a threshold, zero); shade marks a span of time (a fit's
 * reference period); legend names the lines.
 * t[i] is the end of the step whose mean is avg[i] (RRD's convention); null = unknown, and the
 * line breaks there.  min/max, when given, are drawn as the envelope of each point's group, so
 * a spike narrower than a pixel still shows.  Times are labelled in tz and lang.  The values
 * under the pointer are shown as they came from the server, not interpolated. */
'use strict';
(function () {
  const NS = 'http://www.w3.org/2000/svg';
  function el(tag, attrs, parent) {
    const e = document.createElementNS(NS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  /* Round steps of 1, 2, 2.5 and 5 per decade (Heckbert, "Nice numbers for graph labels",
   * Graphics Gems, 1990). */
  function niceTicks(lo, hi, n) {
    if (!(hi > lo)) { hi = lo + 1; }
    const raw = (hi - lo) / n, mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 2.5, 5, 10].map(m => m * mag).find(s => s >= raw);
    const t0 = Math.floor(lo / step) * step, out = [];
    for (let v = t0; v <= hi + step * 1e-9; v += step) out.push(+v.toFixed(10));
    if (out[0] > lo) out.unshift(+(out[0] - step).toFixed(10));
    if (out[out.length - 1] < hi) out.push(+(out[out.length - 1] + step).toFixed(10));
    return out;
  }
  const H = 3600, D = 86400;
  const TIME_STEPS = [300, 900, 1800, H, 2 * H, 3 * H, 6 * H, 12 * H, D, 2 * D, 7 * D, 14 * D, 28 * D];
  function timeTicks(t0, t1, n, tz) {
    const span = t1 - t0, step = TIME_STEPS.find(s => span / s <= n) || 28 * D;
    /* Ticks at local midnights and whole local hours: shift by the zone's offset at t0. */
    const off = tzOffset(t0, tz), out = [];
    let t = Math.ceil((t0 + off) / step) * step - off;
    for (; t <= t1; t += step) out.push(t);
    return { ticks: out, step };
  }
  function tzOffset(t, tz) {
    try {
      const p = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric',
        month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
        .formatToParts(new Date(t * 1000)).reduce((a, x) => (a[x.type] = x.value, a), {});
      return (Date.UTC(+p.year, p.month - 1, +p.day, +p.hour, +p.minute, +p.second) / 1000) - t;
    } catch (e) { return 0; }
  }
  function fmtTime(t, step, tz, lang) {
    const o = { timeZone: tz || undefined };
    if (step < D) { o.hour = '2-digit'; o.minute = '2-digit'; o.hourCycle = 'h23'; }
    if (step >= D || tzOffsetDay(t, tz)) { o.month = 'short'; o.day = 'numeric'; }
    return new Intl.DateTimeFormat(lang, o).format(new Date(t * 1000));
  }
  function tzOffsetDay(t, tz) {
    const s = ((t + tzOffset(t, tz)) % D + D) % D;
    return s === 0;
  }
  function fmtNum(v, lang, digits) {
    return new Intl.NumberFormat(lang, { maximumFractionDigits: digits }).format(v);
  }

  window.waChart = function (host, o) {
    host.textContent = '';
    const W = Math.max(320, host.clientWidth || 800), Hh = o.height || 260;
    /* A legend gets its own strip above the plot, clear of markers and labels. */
    const m = { l: 64, r: 16, t: o.legend && o.legend.length ? 30 : 14, b: 34 };
    const n = o.avg.length;
    let lo = Infinity, hi = -Infinity;
    const upper = o.max || o.avg, lower = o.min || o.avg;
    for (let i = 0; i < n; i++) {
      if (lower[i] != null && lower[i] < lo) lo = lower[i];
      if (upper[i] != null && upper[i] > hi) hi = upper[i];
    }
    if (o.band) { lo = Math.min(lo, o.band.lo); hi = Math.max(hi, o.band.hi); }
    for (const l of o.lines || []) for (let i = 0; i < n; i++) {
      const v = l.v[i];
      if (v != null && v < lo) lo = v;
      if (v != null && v > hi) hi = v;
    }
    const known = lo !== Infinity;
    for (const hl of o.hlines || []) if (known && hl.v != null) { lo = Math.min(lo, hl.v); hi = Math.max(hi, hl.v); }
    const svg = el('svg', { viewBox: `0 0 ${W} ${Hh}`, width: '100%', class: 'chart', role: 'img' }, host);
    if (o.title) el('title', {}, svg).textContent = o.title;
    if (lo === Infinity) {
      const tx = el('text', { x: W / 2, y: Hh / 2, 'text-anchor': 'middle', class: 'chart-empty' }, svg);
      tx.textContent = o.emptyText || '—';
      return svg;
    }
    if (lo > 0 && lo < (hi - lo) * 2) lo = 0; /* power reads best from zero unless far from it */
    const yt = niceTicks(lo, hi, 5), y0 = yt[0], y1 = yt[yt.length - 1];
    const t0 = o.t[0] - (o.step || 0), t1 = o.t[n - 1];
    const X = t => m.l + (t - t0) / (t1 - t0 || 1) * (W - m.l - m.r);
    const Y = v => Hh - m.b - (v - y0) / (y1 - y0 || 1) * (Hh - m.t - m.b);
    const g = el('g', { class: 'chart-grid' }, svg);
    const unit = o.unit || '';
    const big = Math.abs(y1) >= 10000 && unit === 'W';
    for (const v of yt) {
      el('line', { x1: m.l, x2: W - m.r, y1: Y(v), y2: Y(v) }, g);
      const tx = el('text', { x: m.l - 6, y: Y(v) + 4, 'text-anchor': 'end', class: 'chart-label' }, svg);
      tx.textContent = big ? fmtNum(v / 1000, o.lang, 1) + ' kW' : fmtNum(v, o.lang, 2) + (unit ? ' ' + unit : '');
    }
    const tt = timeTicks(t0, t1, Math.max(3, Math.floor((W - m.l - m.r) / 90)), o.tz);
    for (const t of tt.ticks) {
      el('line', { x1: X(t), x2: X(t), y1: m.t, y2: Hh - m.b }, g);
      const tx = el('text', { x: X(t), y: Hh - m.b + 16, 'text-anchor': 'middle', class: 'chart-label' }, svg);
      tx.textContent = fmtTime(t, tt.step, o.tz, o.lang);
    }
    for (const sh of o.shade || []) {
      const a = Math.max(t0, sh.from), b = Math.min(t1, sh.to);
      if (!(b > a)) continue;
      const sg = el('g', { class: 'chart-shade', 'data-shade': sh.id || 'shade' }, svg);
      el('rect', { x: X(a), width: Math.max(1, X(b) - X(a)), y: m.t, height: Hh - m.t - m.b }, sg);
      const sl = el('text', { x: X(a) + 4, y: Hh - m.b - 6, class: 'chart-shade-label' }, sg);
      sl.textContent = sh.label || '';
    }
    if (o.band) {
      el('rect', { x: m.l, width: W - m.l - m.r, y: Y(o.band.hi), height: Math.max(1, Y(o.band.lo) - Y(o.band.hi)),
        class: 'chart-band' }, svg);
      const bl = el('text', { x: W - m.r - 4, y: Y(o.band.hi) - 4, 'text-anchor': 'end', class: 'chart-band-label' }, svg);
      bl.textContent = o.band.label || '';
    }
    /* The step before t[i] is (t[i] - step, t[i]]: draw each value across its own step. */
    const step = o.step || 0;
    function path(vals) {
      let d = '', open = false;
      for (let i = 0; i < n; i++) {
        const v = vals[i];
        if (v == null) { open = false; continue; }
        d += (open ? 'L' : 'M') + X(o.t[i] - step).toFixed(1) + ',' + Y(v).toFixed(1) +
             'L' + X(o.t[i]).toFixed(1) + ',' + Y(v).toFixed(1);
        open = true;
      }
      return d;
    }
    if (o.min && o.max) {
      let d = '';
      let i = 0;
      while (i < n) {
        while (i < n && o.max[i] == null) i++;
        if (i >= n) break;
        let j = i;
        while (j < n && o.max[j] != null) j++;
        let seg = '';
        for (let k = i; k < j; k++) seg += (k === i ? 'M' : 'L') + X(o.t[k] - step).toFixed(1) + ',' + Y(o.max[k]).toFixed(1) + 'L' + X(o.t[k]).toFixed(1) + ',' + Y(o.max[k]).toFixed(1);
        for (let k = j - 1; k >= i; k--) seg += 'L' + X(o.t[k]).toFixed(1) + ',' + Y(o.min[k]).toFixed(1) + 'L' + X(o.t[k] - step).toFixed(1) + ',' + Y(o.min[k]).toFixed(1);
        d += seg + 'Z';
        i = j;
      }
      el('path', { d, class: 'chart-envelope' }, svg);
    }
    for (const hl of o.hlines || []) {
      if (hl.v == null || hl.v < y0 || hl.v > y1) continue;
      const hg = el('g', { class: 'chart-hline ' + (hl.cls || ''), 'data-hline': hl.id || 'level' }, svg);
      el('line', { x1: m.l, x2: W - m.r, y1: Y(hl.v), y2: Y(hl.v) }, hg);
      if (hl.label) {
        const tx = el('text', { x: W - m.r - 4, y: Y(hl.v) - 4, 'text-anchor': 'end', class: 'chart-hline-label' }, hg);
        tx.textContent = hl.label;
      }
    }
    el('path', { d: path(o.avg), class: 'chart-line' }, svg);
    for (const l of o.lines || []) el('path', { d: path(l.v), class: 'chart-line ' + (l.cls || ''), 'data-line': l.id || 'line' }, svg);
    if (o.legend && o.legend.length) {
      const lg = el('g', { class: 'chart-legend' }, svg);
      let x = m.l + 8;
      for (const e of o.legend) {
        el('line', { x1: x, x2: x + 18, y1: 11, y2: 11, class: 'chart-line ' + (e.cls || '') }, lg);
        const tx = el('text', { x: x + 22, y: 15, class: 'chart-legend-label' }, lg);
        tx.textContent = e.label;
        x += 30 + 7 * [...e.label].length * (/[\u3000-\u9fff]/.test(e.label) ? 1.8 : 1);
      }
    }
    for (const mk of o.markers || []) {
      if (mk.t < t0 || mk.t > t1) continue;
      const mg = el('g', { class: 'chart-marker', 'data-marker': mk.id || 'marker' }, svg);
      el('line', { x1: X(mk.t), x2: X(mk.t), y1: m.t, y2: Hh - m.b }, mg);
      const tx = el('text', { x: X(mk.t) + 4, y: m.t + 12, class: 'chart-marker-label' }, mg);
      tx.textContent = mk.label;
    }
    el('rect', { x: m.l, y: m.t, width: W - m.l - m.r, height: Hh - m.t - m.b, class: 'chart-frame' }, svg);
    /* Pointer read-out: the nearest step's values as served. */
    const cursor = el('line', { y1: m.t, y2: Hh - m.b, class: 'chart-cursor', visibility: 'hidden' }, svg);
    const tip = el('text', { y: m.t + 12, class: 'chart-tip', visibility: 'hidden' }, svg);
    svg.addEventListener('mousemove', ev => {
      const r = svg.getBoundingClientRect(), x = (ev.clientX - r.left) * W / r.width;
      const t = t0 + (x - m.l) / (W - m.l - m.r) * (t1 - t0);
      let i = Math.round((t - o.t[0]) / (step || 1));
      i = Math.max(0, Math.min(n - 1, i));
      cursor.setAttribute('x1', X(o.t[i])); cursor.setAttribute('x2', X(o.t[i]));
      cursor.setAttribute('visibility', 'visible');
      const v = o.avg[i];
      let s = fmtTime(o.t[i], 0, o.tz, o.lang) + ' ' + new Intl.DateTimeFormat(o.lang, { timeZone: o.tz || undefined, month: 'short', day: 'numeric' }).format(new Date(o.t[i] * 1000)) +
        ': ' + (o.lineLabel ? o.lineLabel + ' ' : '') + (v == null ? '—' : fmtNum(v, o.lang, 2) + ' ' + unit);
      if (o.min && o.max && o.min[i] != null) s += ` (${fmtNum(o.min[i], o.lang, 1)} – ${fmtNum(o.max[i], o.lang, 1)})`;
      for (const l of o.lines || []) if (l.label) s += ` · ${l.label} ` + (l.v[i] == null ? '—' : fmtNum(l.v[i], o.lang, 2) + ' ' + unit);
      tip.textContent = s;
      const right = X(o.t[i]) > W / 2;
      tip.setAttribute('x', X(o.t[i]) + (right ? -6 : 6));
      tip.setAttribute('text-anchor', right ? 'end' : 'start');
      tip.setAttribute('visibility', 'visible');
    });
    svg.addEventListener('mouseleave', () => { cursor.setAttribute('visibility', 'hidden'); tip.setAttribute('visibility', 'hidden'); });
    return svg;
  };
})();
