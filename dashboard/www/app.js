/* The dashboard's pages: a small single-page app over the JSON API (docs/api.md).  Every text
 * from the server is put into the page as text, never as HTML. */
'use strict';
(function () {
  const S = { session: null, factors: null };
  const main = () => document.getElementById('main');

  /* ---- i18n ---- */
  function lang() { return (S.session && S.session.lang) || 'en'; }
  /* key, or key + '_one' for a count of one where the language has such a form. */
  function tn(key, n) { return t(n === 1 && window.WA_STRINGS[lang()][key + '_one'] != null ? key + '_one' : key, { n: num(n, 0) }); }
  function t(key, vars) {
    const d = window.WA_STRINGS[lang()] || window.WA_STRINGS.en;
    let s = d[key] != null ? d[key] : (window.WA_STRINGS.en[key] != null ? window.WA_STRINGS.en[key] : key);
    for (const k in vars || {}) s = s.split('{' + k + '}').join(vars[k]);
    return s;
  }
  function num(v, digits) {
    if (v == null || !isFinite(v)) return '—';
    return new Intl.NumberFormat(lang(), { maximumFractionDigits: digits == null ? 1 : digits }).format(v);
  }
  function sig(v, n) {
    if (v == null || !isFinite(v)) return '—';
    return new Intl.NumberFormat(lang(), { maximumSignificantDigits: n }).format(v);
  }
  function date(ts, tz, withTime) {
    if (ts == null) return '—';
    const o = { timeZone: tz || undefined, year: 'numeric', month: 'short', day: 'numeric' };
    if (withTime !== false) { o.hour = '2-digit'; o.minute = '2-digit'; o.hourCycle = 'h23'; }
    return new Intl.DateTimeFormat(lang(), o).format(new Date(ts * 1000));
  }
  function watts(w) {
    if (w == null || !isFinite(w)) return '—';
    return Math.abs(w) >= 10000 ? num(w / 1000, 1) + ' ' + t('kw_unit') : num(w, 0) + ' ' + t('w_unit');
  }

  function pct(v) { return v == null || !isFinite(v) ? '—' : num(v * 100, 1) + ' %'; }
  function unitName(u) { return u === 'host' ? t('units_host') : t('class_' + (u || 'unknown')); }
  function countText(min, max, unit) {
    if (!min && !max) return '—';
    if (unit === 'host' && min === 1 && max === 1) return t('count_host');
    return t(min === max ? 'count_one' : 'count_range', { min: num(min, 0), max: num(max, 0), unit: unitName(unit) });
  }

  /* ---- Classes (docs/correlate.md, "Classes") ---- */
  function lcBadge(c) { return h('span', { class: 'badge lc lc_' + (c || 'none'), 'data-class': c || 'none', text: t('lc_' + (c || 'none')) }); }
  /* The class's reason.  In English, the analyzer's own words; in Chinese, the reason built
   * from the finding's facts where its kind has a sentence (a correlation finding), else what
   * the class means, with the analyzer's words beside it for the record. */
  function reasonNode(x) {
    const key = 'why_' + x.kind + '_' + x.load_class;
    const built = window.WA_STRINGS.en[key] != null
      ? (x.lead ? t(x.lead) : '') + t(key, { w: watts(x.w), host: x.host || '', jobs: x.explained_by || '' }) : null;
    if (lang() === 'en' || !x.why) return h('span', { class: 'reason', text: x.why || built || t('lcm_' + (x.load_class || 'none')) });
    return h('span', { class: 'reason' }, built || t('lcm_' + (x.load_class || 'none')),
      h('br'), h('small', { class: 'muted analyzer-words' }, t('analyzer_words') + ' ', h('q', { text: x.why })));
  }
  function classCell(f) {
    return h('div', { class: 'class-cell' }, lcBadge(f.load_class), ' ',
      reasonNode({ kind: f.kind, load_class: f.load_class, why: f.load_class_why, w: f.step_w, host: f.host, explained_by: f.explained_by }));
  }

  /* ---- DOM ---- */
  function h(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) {
      const v = attrs[k];
      if (v == null || v === false) continue;
      if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (k === 'text') e.textContent = v;
      else e.setAttribute(k, v === true ? '' : v);
    }
    for (const c of kids.flat(Infinity)) if (c != null) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    return e;
  }
  function show(...nodes) { const m = main(); m.textContent = ''; for (const n of nodes.flat()) if (n) m.appendChild(n); }
  function errorBox(e) { return h('div', { class: 'error', role: 'alert', text: t('error') + ': ' + (e.message || e) }); }

  /* ---- API ---- */
  async function api(path, opts) {
    const r = await fetch(path, Object.assign({ credentials: 'same-origin' }, opts || {}));
    const ct = r.headers.get('Content-Type') || '';
    const body = ct.startsWith('application/json') ? await r.json() : await r.text();
    if (!r.ok) {
      const e = new Error(body && body.message ? body.message : r.status + '');
      e.status = r.status; e.body = body;
      throw e;
    }
    return body;
  }
  async function post(path, fields) {
    return api(path, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded',
      'X-CSRF-Token': S.session.csrf }, body: new URLSearchParams(fields).toString() });
  }
  function qs(o) {
    const p = new URLSearchParams();
    for (const k in o) if (o[k] != null && o[k] !== '') p.set(k, o[k]);
    const s = p.toString();
    return s ? '?' + s : '';
  }

  /* ---- Chrome: navigation, user, language ---- */
  function chrome() {
    document.documentElement.lang = lang();
    document.title = t('app');
    const nav = document.getElementById('nav'), who = document.getElementById('who');
    nav.textContent = ''; who.textContent = '';
    const s = S.session;
    if (s && s.user) {
      nav.append(h('a', { href: '#/', text: t('overview') }));
      if (s.can.findings) nav.append(h('a', { href: '#/findings', text: t('findings'), id: 'nav-findings' }),
        h('a', { href: '#/flagged', text: t('flagged'), id: 'nav-flagged' }));
      if (s.can.report) nav.append(h('a', { href: '#/report', text: t('report'), id: 'nav-report' }));
      if (s.can.users) nav.append(h('a', { href: '#/users', text: t('users') }));
      who.append(h('span', { class: 'user', text: s.user + ' · ' + t('role_' + s.role) }),
        h('button', { id: 'logout', onclick: logout, text: t('logout') }));
    }
    who.append(h('button', { id: 'lang-toggle', onclick: switchLang, text: t('switch_lang') }));
  }
  async function switchLang() {
    try {
      S.session = await post('/api/prefs', { lang: lang() === 'en' ? 'zh-CN' : 'en' });
    } catch (e) { /* keep the current language */ }
    route();
  }
  async function logout() {
    try { await post('/api/logout', {}); } catch (e) { /* gone already */ }
    S.session = await api('/api/session');
    location.hash = '#/login';
  }

  /* ---- Login ---- */
  function pageLogin() {
    const err = h('div', { class: 'error', role: 'alert', hidden: true });
    const f = h('form', { class: 'login', id: 'login-form' },
      h('h1', { text: t('login_title') }), h('p', { class: 'hint', text: t('login_hint') }),
      h('label', {}, t('user'), h('input', { name: 'user', id: 'user', autocomplete: 'username', required: true })),
      h('label', {}, t('password'), h('input', { name: 'password', id: 'password', type: 'password', autocomplete: 'current-password', required: true })),
      h('input', { type: 'hidden', name: 'csrf', value: S.session.csrf }),
      h('button', { type: 'submit', id: 'login-submit', text: t('login') }), err);
    f.addEventListener('submit', async ev => {
      ev.preventDefault();
      try {
        S.session = await post('/api/login', { user: f.user.value, password: f.password.value, csrf: S.session.csrf });
        location.hash = '#/';
      } catch (e) { err.hidden = false; err.textContent = e.message; }
    });
    show(f);
  }

  /* ---- Overview ---- */
  function countList(obj, prefix) {
    const keys = Object.keys(obj || {});
    if (!keys.length) return h('span', { class: 'muted', text: t('none') });
    return h('ul', { class: 'badges' }, keys.map(k => h('li', {}, h('span', { class: 'badge ' + prefix + k, text: t(prefix + k) }), ' ' + num(obj[k], 0))));
  }
  function healthBox(hl) {
    if (!hl) return h('p', { class: 'muted', text: t('no_status') });
    return h('div', { class: 'health' },
      h('p', {}, h('span', { class: 'dot up' }), `${t('up')} ${hl.up}  `, h('span', { class: 'dot stale' }),
        `${t('stale')} ${hl.stale}  `, h('span', { class: 'dot quarantined' }), `${t('quarantined')} ${hl.quarantined}`),
      h('table', { class: 'small' }, h('tr', {}, h('th', { text: t('device') }), h('th', { text: t('state') }), h('th', { text: t('last_ok') }), h('th', { text: t('last_error') })),
        hl.devices.map(d => h('tr', {}, h('td', { text: d.device }), h('td', {}, h('span', { class: 'dot ' + d.state }), t(d.state)),
          h('td', { text: date(d.last_ok) }), h('td', { text: d.last_error || '' })))));
  }
  async function pageOverview() {
    show(h('p', { text: t('loading') }));
    const [o, ch] = await Promise.all([api('/api/sites'), api('/api/channels')]);
    const cards = o.sites.map(s => h('section', { class: 'card site', 'data-site': s.site },
      h('h2', {}, s.name || s.site, h('small', { text: ' ' + s.site })),
      h('p', { class: 'muted', text: `${t('period')}: ${date(s.from, s.tz, false)} – ${date(s.to, s.tz, false)} (${t('days', { n: num(s.days, 1) })})` }),
      h('div', { class: 'kpis' },
        kpi(t('kwh'), num(s.kwh, 0) + ' ' + t('kwh_unit')),
        kpi(t('excess_kwh'), num(s.excess_kwh, 0) + ' ' + t('kwh_unit'), s.excess_kwh > 0 ? 'warn' : ''),
        kpi(t('savings_day'), num(s.savings.kwh_per_day, 1) + ' ' + t('kwh_day'))),
      h('div', { class: 'cols' },
        h('div', {}, h('h3', { text: t('findings_by_kind') }), countList(s.findings.by_kind, 'kind_'),
          h('h3', { text: t('findings_by_load_class') }), countList(s.findings.by_load_class, 'lc_'),
          h('h3', { text: t('findings_by_class') }), countList(s.findings.by_class, 'class_'),
          S.session.can.findings ? h('p', {}, h('a', { href: '#/findings' + qs({ site: s.site }), text: t('n_findings', { n: s.findings.total }) })) : null,
          S.session.can.findings && s.flagged > 0 ? h('p', {}, h('a', { href: '#/flagged/' + encodeURIComponent(s.site), class: 'flagged-link', text: tn('n_flagged', s.flagged) })) : null,
          s.hosts > 0 ? h('p', { class: 'muted', text: tn('hosts_n', s.hosts) }) : null),
        h('div', {}, h('h3', { text: t('health') }), healthBox(s.health))),
      h('h3', { text: t('channels') }),
      h('table', { class: 'channels' }, h('tr', {}, ['name', 'role', 'kwh', 'mean_w', 'coverage', 'findings'].map(k => h('th', { text: t(k) }))),
        ch.channels.filter(c => c.site === s.site).map(c => h('tr', {},
          h('td', {}, h('a', { href: '#/channel/' + encodeURIComponent(c.id), text: c.name }), h('small', { class: 'muted', text: ' ' + c.id })),
          h('td', { text: c.role }), h('td', { class: 'num', text: num(c.kwh, 1) }), h('td', { class: 'num', text: watts(c.mean_w) }),
          h('td', { class: 'num', text: num(c.coverage * 100, 1) + ' %' }), h('td', { class: 'num', text: num(c.findings, 0) }))))));
    const coll = o.collector ? h('p', { class: 'muted', text: t('status_written', { age: num(o.collector.written_age_s, 0) + ' s' }) }) : null;
    show(h('h1', { text: t('overview') }), coll, cards);
  }
  function kpi(label, value, cls) {
    return h('div', { class: 'kpi ' + (cls || '') }, h('div', { class: 'kpi-label', text: label }), h('div', { class: 'kpi-value', text: value }));
  }

  /* ---- Findings ---- */
  async function pageFindings(q) {
    show(h('p', { text: t('loading') }));
    const [list, sites] = await Promise.all([api('/api/findings' + qs(q)), api('/api/sites')]);
    const sel = (name, opts, label) => h('label', {}, label, h('select', { name },
      h('option', { value: '', text: t('all') }), opts.map(([v, l]) => h('option', { value: v, text: l, selected: q[name] === v }))));
    const inp = (name, type, label) => h('label', {}, label, h('input', { name, type, value: q[name] || '', step: type === 'number' ? 'any' : null, min: type === 'number' ? 0 : null }));
    const form = h('form', { class: 'filters no-print', id: 'filters' },
      sel('site', sites.sites.map(s => [s.site, s.name || s.site]), t('site')),
      sel('kind', KINDS.map(k => [k, t('kind_' + k)]), t('kind')),
      sel('load_class', ['deliberate', 'passive', 'research', 'none'].map(k => [k, t('lc_' + k)]), t('load_class')),
      sel('class', ['gpu_rig', 'asic', 'office_pc', 'host'].map(k => [k, t('class_' + k)]), t('rig_kind')),
      sel('source', ['power', 'correlation'].map(k => [k, t('source_' + k)]), t('source')),
      sel('status', ['unexplained', 'active', 'explained'].map(k => [k, t('status_' + k)]), t('status')),
      inp('min_w', 'number', t('min_w')), inp('max_w', 'number', t('max_w')),
      inp('onset_from', 'date', t('onset_from')), inp('onset_to', 'date', t('onset_to')),
      h('button', { type: 'submit', text: t('filter') }), h('a', { href: '#/findings', class: 'button', text: t('reset') }));
    form.addEventListener('submit', ev => {
      ev.preventDefault();
      const nq = {};
      for (const [k, v] of new FormData(form)) if (v) nq[k] = v;
      if (q.sort) { nq.sort = q.sort; nq.order = q.order; }
      location.hash = '#/findings' + qs(nq);
    });
    const cols = [['site', 'site'], ['channel', 'channel'], ['kind', 'kind'], ['load_class', 'load_class'], ['class', 'rig_kind'], ['size', 'size'], ['onset', 'onset'], ['kwh', 'excess_kwh'], ['score', 'score']];
    const head = h('tr', {}, cols.map(([key, label]) => {
      const active = (q.sort || 'onset') === key, desc = (q.order || 'desc') === 'desc';
      const nq = Object.assign({}, q, { sort: key, order: active && desc ? 'asc' : 'desc' });
      return h('th', { 'aria-sort': active ? (desc ? 'descending' : 'ascending') : null },
        h('a', { href: '#/findings' + qs(nq), 'data-sort': key, text: t(label) + (active ? (desc ? ' ▼' : ' ▲') : '') }));
    }), h('th', { text: t('status') }));
    const rows = list.findings.map(f => h('tr', { class: 'finding-row', 'data-id': f.id, 'data-source': f.source, 'data-class': f.load_class || 'none' },
      h('td', { text: f.site }), h('td', {}, h('a', { href: '#/finding/' + encodeURIComponent(f.id), class: 'finding-link', text: f.channel_name }),
        f.host ? h('small', { class: 'muted', text: ' · ' + f.host }) : null),
      h('td', {}, h('span', { class: 'badge kind_' + f.kind, text: t('kind_' + f.kind) })),
      h('td', { title: f.load_class_why || '' }, lcBadge(f.load_class)), h('td', { text: t('class_' + (f.class || 'unknown')) }),
      h('td', { class: 'num', text: watts(f.step_w) }), h('td', { text: date(f.onset, f.tz) }),
      h('td', { class: 'num', text: num(f.excess_kwh, 1) }), h('td', { class: 'num', text: num(f.score, 2) }),
      h('td', { text: statusText(f) })));
    show(h('h1', { text: t('findings') }), form, h('p', { class: 'muted', text: t('n_findings', { n: list.total }) }),
      h('table', { class: 'findings', id: 'findings-table' }, head, rows));
  }
  function statusText(f) {
    if (f.explained_by) return t('explained_by', { what: f.explained_by });
    return t('status_unexplained') + ', ' + (f.active ? t('status_active') : t('status_ended'));
  }
  const KINDS = ['flat_24x7', 'step_up', 'off_hours', 'unexplained_residual', 'host_full_load', 'host_off_hours', 'host_research'];
  /* A compact table of findings (a channel's, a circuit's), each row linking to its evidence. */
  function findingsTable(list, id) {
    if (!list.length) return h('p', { class: 'muted', text: t('no_findings') });
    return h('table', { class: 'findings small', id },
      h('tr', {}, ['kind', 'load_class', 'onset', 'size', 'how_many', 'status', 'evidence_col'].map(k => h('th', { text: t(k) }))),
      list.map(f => h('tr', { class: 'finding-row', 'data-id': f.id, 'data-class': f.load_class || 'none' },
        h('td', {}, h('span', { class: 'badge kind_' + f.kind, text: t('kind_' + f.kind) }), f.host ? ' ' + f.host : ''),
        h('td', {}, classCell(f)), h('td', { text: date(f.onset, f.tz) }), h('td', { class: 'num', text: watts(f.step_w) }),
        h('td', { text: countText(f.rigs.min, f.rigs.max, f.rigs.kind) }), h('td', { text: statusText(f) }),
        h('td', {}, h('a', { href: '#/finding/' + encodeURIComponent(f.id), class: 'evidence-link', text: t('evidence_link') })))));
  }

  /* ---- Charts from /api/series ---- */
  async function chartSeries(host, channel, ds, from, to, extra) {
    host.textContent = t('loading');
    let s;
    try {
      s = await api('/api/series' + qs({ channel, ds, from, to, points: Math.min(2000, Math.max(200, Math.floor((host.clientWidth || 800)))) }));
    } catch (e) {
      if (e.status === 404 && extra && extra.optional) { host.closest('.chart-box').remove(); return null; }
      host.textContent = ''; host.appendChild(errorBox(e)); return null;
    }
    if (extra && extra.optional && !s.known) { host.closest('.chart-box').remove(); return null; }
    const tt = s.avg.map((_, i) => s.start + (i + 1) * s.step);
    let avg = s.avg, mn = s.min, mx = s.max, unit = s.unit;
    if (ds === 'energy') { /* the register in Wh, shown as kWh used since the range's start */
      const first = avg.find(v => v != null);
      const f = v => v == null ? null : (v - first) / 1000;
      avg = avg.map(f); mn = mn && mn.map(f); mx = mx && mx.map(f); unit = 'kWh';
    }
    window.waChart(host, Object.assign({ t: tt, avg, min: mn, max: mx, step: s.step, unit, tz: s.tz, lang: lang(),
      emptyText: t('no_series') }, extra || {}));
    host.setAttribute('data-loaded', '1');
    return s;
  }

  /* ---- Power against compute load (/api/compute) ---- */
  function minutes(sec) { return sec == null ? '—' : num(sec / 60, 0) + ' ' + t('min_unit'); }
  function fitFacts(fit, tz) {
    if (!fit.fitted) return h('p', { class: 'muted', id: 'fit-stats', text: t('fit_not', { why: fit.note }) });
    return h('dl', { class: 'facts', id: 'fit-stats' },
      h('dt', { text: t('idle_w') }), h('dd', { text: watts(fit.idle_w) }),
      h('dt', { text: t('r2') }), h('dd', { id: 'fit-r2', text: num(fit.r2, 3) }),
      h('dt', { text: t('resid_sd') }), h('dd', { text: watts(fit.resid_sd_w) }),
      h('dt', { text: t('resid_mean') }), h('dd', { text: watts(fit.resid_mean_w) }),
      h('dt', { text: t('pearson') }), h('dd', { text: num(fit.pearson, 3) }),
      h('dt', { text: t('spearman') }), h('dd', { text: num(fit.spearman, 3) }),
      h('dt', { text: t('best_lag') }), h('dd', { text: t('lag_value', { lag: minutes(fit.best_lag_s), r: num(fit.best_lag_r, 3) }) }),
      h('dt', { text: t('ref_period') }), h('dd', { text: `${date(fit.ref_from, tz)} – ${date(fit.ref_to, tz)}` }),
      fit.note ? h('dt', { text: t('fit') }) : null, fit.note ? h('dd', { class: 'muted', text: fit.note }) : null);
  }
  function hostsTable(fit) {
    return h('table', { class: 'hosts small', id: 'hosts-table' },
      h('tr', {}, ['host', 'role', 'slope', 'slope_source', 'mean_util', 'coverage', 'util_source'].map(k => h('th', { text: t(k) }))),
      fit.hosts.map(x => h('tr', { 'data-host': x.id },
        h('td', {}, x.id, x.ips.length ? h('small', { class: 'muted', text: ' ' + x.ips.join(', ') }) : null),
        h('td', { text: x.role }), h('td', { class: 'num', text: watts(x.slope_w) }),
        h('td', { text: x.slope_w == null ? '—' : t(x.slope_fitted ? 'fitted' : 'declared') }),
        h('td', { class: 'num', text: pct(x.mean_util) }), h('td', { class: 'num', text: pct(x.coverage) }),
        h('td', { text: x.read ? x.source : t('not_read') + (x.note ? ': ' + x.note : '') }))));
  }
  /* The two charts (measured against explained, and the residual with its threshold), the
   * fit's statistics and the hosts' table, into box. */
  async function computeSection(box, channel, from, to, markers) {
    const hp = h('div', { class: 'chart-host', id: 'compute-power' }), hr = h('div', { class: 'chart-host', id: 'compute-residual' });
    const stats = h('div', {}), hosts = h('div', {});
    box.append(h('h2', { text: t('compute') }), h('p', { class: 'muted', text: t('compute_hint') }),
      h('div', { class: 'chart-box' }, h('h3', { text: t('compute_power') }), hp),
      h('div', { class: 'chart-box' }, h('h3', { text: t('compute_residual') }), hr),
      h('div', { class: 'cols even' }, h('div', {}, h('h3', { text: t('fit') }), stats), h('div', {}, h('h3', { text: t('hosts_table') }), hosts)));
    hp.textContent = t('loading');
    let c;
    try {
      c = await api('/api/compute' + qs({ channel, from, to, points: Math.min(2000, Math.max(200, Math.floor(hp.clientWidth || 800))) }));
    } catch (e) { hp.textContent = ''; hp.appendChild(errorBox(e)); hr.remove(); return null; }
    const tt = c.power.avg.map((_, i) => c.start + (i + 1) * c.step), fit = c.fit;
    const shade = fit.fitted ? [{ from: fit.ref_from, to: fit.ref_to, label: t('reference_period'), id: 'ref' }] : [];
    const common = { t: tt, step: c.step, unit: 'W', tz: c.tz, lang: lang(), emptyText: t('no_series'), markers: markers || [], shade, height: 260 };
    window.waChart(hp, Object.assign({}, common, { avg: c.power.avg, min: c.power.min, max: c.power.max, lineLabel: t('measured'),
      lines: [{ v: c.explained.avg, cls: 'chart-line-explained', label: t('explained'), id: 'explained' }],
      legend: [{ cls: '', label: t('measured') }, { cls: 'chart-line-explained', label: t('explained') }] }));
    window.waChart(hr, Object.assign({}, common, { avg: c.residual.avg, min: c.residual.min, max: c.residual.max, lineLabel: t('residual_line'),
      hlines: [{ v: 0, cls: 'chart-zero', id: 'zero' }, { v: fit.threshold_w, cls: 'chart-threshold', id: 'threshold', label: t('threshold_line', { w: watts(fit.threshold_w) }) }] }));
    hp.setAttribute('data-loaded', '1'); hr.setAttribute('data-loaded', '1');
    stats.append(fitFacts(fit, c.tz));
    hosts.append(hostsTable(fit));
    return c;
  }

  /* ---- One finding ---- */
  function residualText(f) {
    if (f.residual_code === 'fitted') return t('residual_fitted', { w: watts(f.residual_w) });
    if (f.residual_code === 'not_fitted') return t('residual_not_fitted', { why: f.residual_note });
    return t('residual_no_hosts');
  }
  async function pageFinding(id) {
    show(h('p', { text: t('loading') }));
    const f = await api('/api/finding' + qs({ id }));
    const c = f.channel_detail, sh = c.shape || {};
    const facts = h('dl', { class: 'facts' },
      h('dt', { text: t('kind') }), h('dd', {}, h('span', { class: 'badge kind_' + f.kind, text: t('kind_' + f.kind) })),
      h('dt', { text: t('source') }), h('dd', { text: t('source_' + f.source) }),
      f.host ? h('dt', { text: t('host') }) : null, f.host ? h('dd', { id: 'host', text: f.host }) : null,
      h('dt', { text: t('onset') }), h('dd', { id: 'onset', text: date(f.onset, f.tz) }),
      f.end != null ? h('dt', { text: t('end') }) : null, f.end != null ? h('dd', { text: date(f.end, f.tz) }) : null,
      h('dt', { text: t('step_size') }), h('dd', { id: 'step-size' }, h('strong', { text: watts(f.step_w) }),
        f.step_lo_w != null ? ' (' + t('interval95', { lo: watts(f.step_lo_w), hi: watts(f.step_hi_w) }) + ')' : ''),
      h('dt', { text: t(f.source === 'power' ? 'rig_estimate' : 'how_many') }), h('dd', { id: 'rig-estimate', text: countText(f.rigs.min, f.rigs.max, f.rigs.kind) }),
      f.excess_kwh != null ? h('dt', { text: t('excess_kwh') }) : null, f.excess_kwh != null ? h('dd', { text: num(f.excess_kwh, 1) + ' ' + t('kwh_unit') }) : null,
      f.score != null ? h('dt', { text: t('score') }) : null, f.score != null ? h('dd', { text: num(f.score, 2) }) : null,
      h('dt', { text: t('status') }), h('dd', { text: statusText(f) }),
      h('dt', { text: t('residual') }), h('dd', { id: 'residual', text: residualText(f) }));
    const chartHost = h('div', { class: 'chart-host', id: 'finding-chart' });
    const ev = h('table', { class: 'evidence', id: 'evidence' },
      h('tr', {}, ['metric', 'value', 'threshold', 'passed'].map(k => h('th', { text: t(k) }))),
      f.evidence.map(e => h('tr', { class: e.threshold == null ? 'info' : (e.passed ? 'pass' : 'fail') },
        h('td', { title: e.name, text: t('m_' + e.name) === 'm_' + e.name ? e.name : t('m_' + e.name) }),
        h('td', { class: 'num', text: e.name === 'split_t' ? num(e.value, 0) : sig(e.value, 4) }),
        h('td', { class: 'num', text: e.threshold == null ? '' : e.op + ' ' + sig(e.threshold, 4) }),
        h('td', { text: e.threshold == null ? t('info') : (e.passed ? '✓ ' + t('yes') : '✗ ' + t('no')) }))));
    const compute = h('section', { id: 'compute' });
    show(h('p', { class: 'crumbs no-print' }, h('a', { href: '#/findings', text: t('findings') }), ' › ', f.site),
      h('h1', {}, t('finding') + ': ', h('a', { href: '#/channel/' + encodeURIComponent(f.channel), text: f.channel_name }), h('small', { text: ' ' + f.channel })),
      h('div', { class: 'class-box', id: 'load-class' }, h('strong', { text: t('load_class') + ': ' }), classCell(f)),
      h('div', { class: 'cols' }, facts, h('div', { class: 'chart-box' }, h('h3', { text: t('power') }), chartHost)),
      h('h2', { text: t('evidence') }), ev, compute);
    const markers = [{ t: f.onset, label: t('onset_marker') + ' ' + date(f.onset, f.tz), id: 'onset' }];
    await Promise.all([
      chartSeries(chartHost, f.channel, 'power', c.from, c.data_end, {
        markers,
        band: sh.near_base_w != null ? { lo: sh.near_base_w, hi: sh.near_peak_w, label: t('base_band', { lo: watts(sh.near_base_w), hi: watts(sh.near_peak_w) }) } : null,
        title: f.channel_name, height: 300 }),
      f.correlation ? computeSection(compute, f.channel, c.from, c.data_end, markers) : null]);
  }

  /* ---- One channel ---- */
  async function pageChannel(id, q) {
    show(h('p', { text: t('loading') }));
    const list = await api('/api/channels');
    const c = list.channels.find(x => x.id === id);
    if (!c) throw new Error(id);
    const end = c.data_end, start = c.from;
    const from = q.from ? +q.from : Math.max(start, end - 7 * 86400), to = q.to ? +q.to : end;
    const local = ts => { const d = new Date(ts * 1000 + tzOff(ts, c.tz) * 1000); return d.toISOString().slice(0, 16); };
    const fromI = h('input', { type: 'datetime-local', name: 'from', id: 'range-from', value: local(from) });
    const toI = h('input', { type: 'datetime-local', name: 'to', id: 'range-to', value: local(to) });
    const go = (a, b) => { location.hash = '#/channel/' + encodeURIComponent(id) + qs({ from: Math.round(a), to: Math.round(b) }); };
    const picker = h('form', { class: 'range no-print', id: 'range' }, h('strong', { text: t('range') + ': ' }),
      [['last_day', 86400], ['last_week', 7 * 86400], ['last_4w', 28 * 86400], ['whole', 0]].map(([k, span]) =>
        h('button', { type: 'button', 'data-range': k, onclick: () => go(span ? Math.max(start, end - span) : start, end), text: t(k) })),
      h('label', {}, t('from'), fromI), h('label', {}, t('to'), toI), h('button', { type: 'submit', text: t('apply') }));
    picker.addEventListener('submit', ev => {
      ev.preventDefault();
      const parse = v => { const ts = Date.parse(v + ':00Z') / 1000; return ts - tzOff(ts, c.tz); };
      go(parse(fromI.value), parse(toI.value));
    });
    const box = (title, hid) => h('div', { class: 'chart-box' }, h('h3', { text: title }), h('div', { class: 'chart-host', id: hid }));
    const boxes = [box(t('power'), 'chart-power'), box(t('energy'), 'chart-energy'), box(t('utilisation'), 'chart-util')];
    const compute = h('section', { id: 'compute' }), found = h('section', { id: 'channel-findings' });
    show(h('h1', {}, c.name, h('small', { text: ' ' + c.id })),
      h('p', { class: 'muted', text: `${t('kwh')}: ${num(c.kwh, 1)} ${t('kwh_unit')} · ${t('mean_w')}: ${watts(c.mean_w)} · ${t('coverage')}: ${num(c.coverage * 100, 1)} %` +
        (c.hosts ? ' · ' + tn('hosts_n', c.hosts) : '') }),
      picker, boxes, found, compute);
    /* A manager sees what was found here, each with its class; anyone sees the compute load. */
    const here = S.session.can.findings ? await api('/api/findings' + qs({ channel: id, sort: 'onset', order: 'asc' })) : null;
    if (here) found.append(h('h2', { text: t('circuit_findings') }), findingsTable(here.findings, 'channel-findings-table'));
    /* One marker per onset, naming every unexplained finding that starts there. */
    const at = new Map();
    for (const f of here ? here.findings : []) if (!f.explained_by) at.set(f.onset, (at.get(f.onset) || new Set()).add(t('kind_' + f.kind)));
    const markers = [...at].map(([ts, kinds]) => ({ t: ts, label: [...kinds].join(', '), id: 'onset' }));
    await Promise.all([
      chartSeries(document.getElementById('chart-power'), id, 'power', from, to, { title: c.name }),
      chartSeries(document.getElementById('chart-energy'), id, 'energy', from, to, { optional: true }),
      chartSeries(document.getElementById('chart-util'), id, 'util', from, to, { optional: true }),
      c.hosts ? computeSection(compute, id, from, to, markers) : null]);
  }
  function tzOff(ts, tz) {
    const p = new Intl.DateTimeFormat('en-US', { timeZone: tz || undefined, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
      .formatToParts(new Date(ts * 1000)).reduce((a, x) => (a[x.type] = x.value, a), {});
    return Date.UTC(+p.year, p.month - 1, +p.day, +p.hour, +p.minute, +p.second) / 1000 - ts;
  }

  /* ---- Savings report ---- */
  async function pageReport(q) {
    show(h('p', { text: t('loading') }));
    const [sites, fac] = await Promise.all([api('/api/sites'), S.factors || api('/api/factors')]);
    S.factors = fac;
    const chosen = q.sites ? q.sites.split(',') : sites.sites.map(s => s.site);
    const form = h('form', { class: 'report-form no-print', id: 'report-form' },
      h('fieldset', {}, h('legend', { text: t('choose_sites') }), sites.sites.map(s => h('label', { class: 'check' },
        h('input', { type: 'checkbox', name: 'site', value: s.site, checked: chosen.includes(s.site) }), s.name || s.site))),
      h('label', {}, t('from'), h('input', { type: 'date', name: 'from', value: q.from || '' })),
      h('label', {}, t('to'), h('input', { type: 'date', name: 'to', value: q.to || '' })),
      h('label', {}, t('factors'), h('select', { name: 'factors', id: 'factors' }, fac.presets.map(p =>
        h('option', { value: p.name, selected: (q.factors || fac.default) === p.name, text: `${p.name} (${p.kgco2_per_kwh} kg CO₂/kWh)` })))),
      h('label', {}, t('tariff'), h('input', { type: 'number', name: 'tariff', step: 'any', min: 0, value: q.tariff || '' })),
      h('label', {}, t('currency'), h('input', { name: 'currency', pattern: '[A-Z]{3}', maxlength: 3, size: 4, value: q.currency || '' })),
      h('button', { type: 'submit', id: 'produce', text: t('produce') }));
    form.addEventListener('submit', ev => {
      ev.preventDefault();
      const fd = new FormData(form), nq = { sites: fd.getAll('site').join(',') };
      for (const k of ['from', 'to', 'factors', 'tariff', 'currency']) if (fd.get(k)) nq[k] = fd.get(k);
      if (nq.tariff && !nq.currency) nq.currency = 'CNY';
      location.hash = '#/report' + qs(Object.assign(nq, { run: 1 }));
    });
    const out = h('div', { id: 'report-out' });
    show(h('h1', { class: 'no-print', text: t('report') }), form, out);
    if (!q.run) return;
    const params = { sites: q.sites, from: q.from, to: q.to, factors: q.factors, tariff: q.tariff, currency: q.currency };
    out.textContent = t('loading');
    let r;
    try { r = await api('/api/report' + qs(Object.assign({ format: 'json' }, params))); } catch (e) { out.textContent = ''; out.appendChild(errorBox(e)); return; }
    const cost = r.factors.tariff_per_kwh != null;
    const row = (label, x) => h('tr', {}, h('th', { text: label }),
      h('td', { class: 'num', text: `${date(x.from, x.tz, false)} – ${date(x.to, x.tz, false)}` }),
      h('td', { class: 'num', text: num(x.kwh, 0) }), h('td', { class: 'num', text: num(x.excess_kwh, 0) }),
      h('td', { class: 'num', text: num(x.savings.kwh_per_day, 1) }), h('td', { class: 'num', text: num(x.savings.kgce_per_day, 1) }),
      h('td', { class: 'num', text: num(x.savings.tce_per_year, 2) }), h('td', { class: 'num', text: num(x.savings.tco2_per_year, 2) }),
      cost ? h('td', { class: 'num', text: num(x.savings.cost_per_year, 0) + ' ' + r.factors.currency }) : null);
    const sv = r.total.savings;
    const stmt = sv.kwh_per_day > 0 ? t('statement_text', { kwh: sig(sv.kwh_per_day, 4), kgce: sig(sv.kgce_per_day, 3), tce: sig(sv.tce_per_year, 3), tco2: sig(sv.tco2_per_year, 3) }) : t('statement_none');
    const dl = fmt => '/api/report' + qs(Object.assign({ format: fmt, download: 1 }, params));
    out.textContent = '';
    out.append(
      h('div', { class: 'actions no-print' }, h('button', { id: 'print', onclick: () => window.print(), text: t('print') }),
        h('a', { class: 'button', id: 'download-csv', href: dl('csv'), download: '', text: t('download_csv') }),
        h('a', { class: 'button', id: 'download-json', href: dl('json'), download: '', text: t('download_json') })),
      h('article', { class: 'statement-doc', id: 'statement-doc' },
        h('h1', { text: t('report_title') }),
        h('p', { class: 'muted', text: `${t('period')}: ${date(r.from, 'UTC', false)} – ${date(r.to, 'UTC', false)} (UTC) · ${t('factors')}: ${r.factors.name}` }),
        h('h2', { text: t('statement') }), h('p', { class: 'statement', id: 'statement', text: stmt }),
        lang() !== 'en' && r.report && r.report.statement ? h('p', { class: 'muted' }, t('analyzer_statement') + ' ', h('q', { text: r.report.statement })) : null,
        h('h2', { text: t('figures') }),
        h('table', { class: 'figures', id: 'figures' },
          h('tr', {}, h('th', { text: t('site') }), h('th', { text: t('period') }), h('th', { text: t('kwh') + ' (' + t('kwh_unit') + ')' }),
            h('th', { text: t('excess_kwh') + ' (' + t('kwh_unit') + ')' }), h('th', { text: t('kwh_day') }), h('th', { text: t('kgce_day') }),
            h('th', { text: t('tce_year') }), h('th', { text: t('tco2_year') }), cost ? h('th', { text: t('cost_year') }) : null),
          r.sites.map(s => row(s.name || s.site, s)), row(t('site_total'), Object.assign({ from: r.from, to: r.to, tz: 'UTC' }, r.total))),
        classSummary(r),
        h('h2', { text: t('method') }), h('p', { text: t('method_text') }),
        h('h2', { text: t('sources') }),
        h('ul', {}, h('li', { text: r.factors.name }), h('li', { text: t('factor_kgce', { v: r.factors.kgce_per_kwh }) }),
          h('li', { text: t('factor_kgco2', { v: r.factors.kgco2_per_kwh }) }), h('li', { class: 'source', text: r.factors.source }))));
  }

  /* ---- Flagged addresses of a site: the inspectors' three questions ---- */
  async function pageFlagged(site) {
    show(h('p', { text: t('loading') }));
    const sites = await api('/api/sites');
    if (!site) site = ((sites.sites.find(x => x.flagged > 0) || sites.sites[0]) || {}).site;
    if (!site) return show(h('h1', { text: t('flagged') }), h('p', { class: 'muted', text: t('no_flagged') }));
    const fl = await api('/api/flagged' + qs({ site }));
    const st = fl.sites[0], tz = st.tz;
    const picker = h('p', { class: 'site-picker no-print' }, h('strong', { text: t('choose_site') + ': ' }),
      sites.sites.map(x => [x.site === site ? h('strong', { text: x.name || x.site }) : h('a', { href: '#/flagged/' + encodeURIComponent(x.site), text: x.name || x.site }),
        h('small', { class: 'muted', text: ` (${x.flagged}) ` })]));
    const rows = st.flagged.map(x => {
      const a = x.answer;
      const machine = x.mapped ? [h('strong', { text: x.host }), h('small', { class: 'muted', text: ' ' + x.role })]
        : [h('span', { class: 'badge unmapped', text: t('unmapped') }), h('br'), h('small', { class: 'muted', text: t('unmapped_why') })];
      const circuit = x.channel ? h('a', { href: '#/channel/' + encodeURIComponent(x.channel), class: 'circuit-link', text: x.channel_name || x.channel })
        : h('span', { class: 'muted', text: x.mapped ? t('circuit_unknown') : '—' });
      const found = a.kind ? [h('span', { class: 'badge kind_' + a.kind, text: t('kind_' + a.kind) }), ' ', watts(a.w)]
        : h('span', { class: 'muted', text: x.mapped ? t('nothing_found') : '—' });
      /* A residual on the address's circuit: the host itself is ordinary, its circuit is not. */
      const lead = a.kind === 'unexplained_residual' ? 'answer_residual_lead' : null;
      const rests = x.findings.find(f => f.id === a.finding);
      const reason = x.mapped ? reasonNode({ kind: a.kind, load_class: a.load_class, why: a.why, w: a.w, host: x.host, lead, explained_by: rests && rests.explained_by })
        : h('span', { class: 'muted', text: '—' });
      return h('tr', { class: 'flagged-row', 'data-ip': x.ip, 'data-class': a.load_class || 'none' },
        h('td', {}, h('code', { text: x.ip })), h('td', { text: date(x.seen, tz) }), h('td', {}, machine), h('td', {}, circuit),
        h('td', {}, found), h('td', { text: a.since != null ? date(a.since, tz) : '—' }),
        h('td', { text: a.kind ? countText(a.count_min, a.count_max, a.unit) : '—' }),
        h('td', {}, a.load_class ? lcBadge(a.load_class) : null, ' ', reason),
        h('td', {}, a.finding ? h('a', { href: '#/finding/' + encodeURIComponent(a.finding), class: 'evidence-link', text: t('evidence_link') }) : '—'));
    });
    const details = st.flagged.filter(x => x.findings.length).map(x => h('details', { class: 'circuit-findings', 'data-ip': x.ip },
      h('summary', { text: `${x.ip} · ` + t('all_on_circuit', { circuit: x.channel_name || x.channel }) }),
      findingsTable(x.findings.map(f => Object.assign({ tz }, f)))));
    show(h('h1', { text: t('flagged_title', { site: st.name || st.site }) }), picker,
      h('p', { class: 'muted', text: t('flagged_hint') }),
      h('p', { class: 'muted', text: [tn('hosts_n', st.hosts), tn('jobs_n', st.jobs), tn('n_flagged', st.flagged.length)].join(' · ') }),
      st.flagged.length ? h('table', { class: 'flagged', id: 'flagged-table' },
        h('tr', {}, ['address', 'seen', 'machine', 'circuit', 'found', 'since', 'how_many', 'load_class', 'evidence_col'].map(k => h('th', { text: t(k) }))), rows)
        : h('p', { class: 'muted', text: t('no_flagged') }),
      details);
  }

  /* The report's findings with their class: research (declared jobs) is explained and never a
   * saving; what is in the saving is what the analyzer counts (unexplained, still running). */
  function classSummary(r) {
    const rows = [];
    let research = 0;
    for (const s of r.sites) for (const c of s.channels || []) for (const f of c.findings || []) {
      if (f.class === 'research') research++;
      const saving = f.explained_by ? t('in_saving_explained', { what: f.explained_by })
        : !f.active ? t('in_saving_ended')
          : t('in_saving_yes') + (c.role === 'total' && c.parts_cover ? ' (' + t('in_saving_parts') + ')' : '');
      rows.push(h('tr', { class: 'class-row', 'data-class': f.class || 'none', 'data-saving': f.explained_by ? 'explained' : f.active ? 'yes' : 'ended' },
        h('td', { text: s.name || s.site }), h('td', { text: c.name || c.id }), h('td', { text: t('kind_' + f.kind) }),
        h('td', { text: date(f.onset, s.tz) }), h('td', { class: 'num', text: watts(f.step_w) }),
        h('td', {}, classCell({ kind: f.kind, load_class: f.class, load_class_why: f.class_why, step_w: f.step_w, explained_by: f.explained_by })),
        h('td', { text: saving })));
    }
    return h('section', { id: 'class-summary' }, h('h2', { text: t('class_summary') }),
      rows.length ? h('table', { class: 'figures', id: 'class-table' },
        h('tr', {}, ['site', 'channel', 'kind', 'since', 'size', 'load_class', 'in_saving'].map(k => h('th', { text: t(k) }))), rows)
        : h('p', { text: t('no_findings') }),
      h('p', { class: 'note', id: 'class-note', text: t('class_note') + (research ? ' ' + t('n_research', { n: research }) : '') }));
  }

  async function pageUsers() {
    const u = await api('/api/users');
    show(h('h1', { text: t('users') }), h('table', {}, h('tr', {}, h('th', { text: t('name') }), h('th', { text: t('role') })),
      u.users.map(x => h('tr', {}, h('td', { text: x.name }), h('td', { text: t('role_' + x.role) })))));
  }

  /* ---- Router ---- */
  async function route() {
    const hash = location.hash.slice(1) || '/';
    const [path, query] = hash.split('?');
    const q = Object.fromEntries(new URLSearchParams(query || ''));
    if (!S.session) S.session = await api('/api/session');
    chrome();
    if (!S.session.user && path !== '/login') { location.hash = '#/login'; return; }
    try {
      if (path === '/login') return pageLogin();
      if (path === '/' || path === '') return await pageOverview();
      if (path === '/findings') return await pageFindings(q);
      if (path.startsWith('/finding/')) return await pageFinding(decodeURIComponent(path.slice(9)));
      if (path.startsWith('/channel/')) return await pageChannel(decodeURIComponent(path.slice(9)), q);
      if (path === '/report') return await pageReport(q);
      if (path === '/flagged' || path.startsWith('/flagged/')) return await pageFlagged(decodeURIComponent(path.slice(9)));
      if (path === '/users') return await pageUsers();
      show(errorBox(new Error(path)));
    } catch (e) {
      if (e.status === 401) { S.session = await api('/api/session'); location.hash = '#/login'; return; }
      show(e.status === 403 ? h('p', { class: 'error', text: t('forbidden') }) : errorBox(e));
    }
  }
  window.addEventListener('hashchange', route);
  document.addEventListener('DOMContentLoaded', route);
})();
