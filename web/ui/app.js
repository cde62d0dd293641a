/* orchestrator web UI. Polls the HTTP API (clusters-info, all-instances, replication-analysis,
 * check-global-recoveries, and the open page's own data), draws each cluster as a tree of
 * instance cards, and lets a user with write rights act: drag an instance onto another to
 * relocate it, drag a replicas handle to relocate all replicas, and run the instance and
 * cluster actions of orchestrator's API after a confirmation naming what changes.
 *
 * Pages (hash routes, so back/forward and deep links work): #/ clusters dashboard,
 * #/cluster/<name>[/<host:port>] one cluster and an instance panel, #/recoveries,
 * #/detections, #/audit[/<page>], #/manager, #/discover, #/search/<text> (those in pages.js).
 * Query parameters: ?refresh=N seconds between polls (0 = manual only), ?lag=N seconds
 * above which replication lag counts as a problem, ?expand=N clusters drawn expanded by
 * default on the dashboard when there are at most N of them.
 *
 * Safety: every value from the server is put in the page as text (textContent, attribute
 * values), never parsed as HTML. Actions are drawn only when /api/whoami says the caller may
 * write; the server decides anyway. Mutating calls are same-origin POSTs (the server refuses
 * cross-site ones) with an X-Request-Id so a retried call is not run twice.
 * Every card carries data-instance, data-master, data-state (ok|problem|dead), data-role and
 * data-downtimed for tests and scripts. */
'use strict';
(() => {
  const q = new URLSearchParams(location.search);
  const num = (v, d) => (v !== null && v !== '' && isFinite(v) && +v >= 0 ? +v : d);
  const REFRESH = num(q.get('refresh'), 5);
  const LAG = num(q.get('lag'), 10);
  const EXPAND_MAX = num(q.get('expand'), 10);
  const TIMEOUT_MS = 10000, WRITE_TIMEOUT_MS = 120000;
  /* API base: the page's folder, minus a trailing "web/" (UI at /, /web/ or <URLPrefix>/web/),
   * on the page's origin (never with credentials from the URL, which fetch refuses). */
  const path = location.pathname;
  const w = path.lastIndexOf('/web/');
  const BASE = location.origin + (w >= 0 ? path.slice(0, w + 1) : path.replace(/[^/]*$/, ''));
  const $ = (id) => document.getElementById(id);

  const S = {
    me: null, /* whoami: {User, CanWrite} */
    clusters: [], insts: new Map(), /* cluster name -> [Instance] */
    byKey: new Map(), kids: new Map(), findings: {byInst: new Map(), byCluster: new Map()},
    recoveries: null, /* "enabled" | "disabled" | null */
    route: {page: 'dashboard'}, open: new Set(), shut: new Set(), filter: '', problemsOnly: false,
  };
  const shown = new Map(); /* cluster name -> {el, sig} */
  let lastOk = 0, timer = 0, busy = false, again = false, refreshes = 0, pageSig = '', panelSig = '';

  /* ---- small helpers ---- */

  /* DOM builder: h('p', {class, text, data: {...}, onclick, attr: value}, children...).
   * Children that are strings become text nodes. */
  function h(tag, props, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k === 'data') for (const [dk, dv] of Object.entries(v)) el.dataset[dk] = dv;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of kids.flat(Infinity)) {
      if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
    }
    return el;
  }
  const keyOf = (k) => (k && k.Hostname ? k.Hostname + ':' + k.Port : '');
  const validKey = (k) => !!(k && k.Hostname && k.Hostname !== '_' &&
    !k.Hostname.startsWith('//') && k.Port > 0);
  const detachedKey = (k) => !!(k && k.Hostname && k.Hostname.startsWith('//'));
  const splitKey = (k) => { const c = k.lastIndexOf(':'); return [k.slice(0, c), k.slice(c + 1)]; };
  const seg = (s) => encodeURIComponent(s).replace(/%3A/gi, ':');
  const hp = (k) => splitKey(k).map(seg).join('/');
  const cmpText = (a, b) => a.localeCompare(b, undefined, {numeric: true});
  const clock = (t) => new Date(t).toLocaleTimeString([], {hour12: false});
  const plural = (n, w1) => `${n} ${w1}${n === 1 ? '' : 's'}`;
  const canWrite = () => !!(S.me && S.me.CanWrite);

  async function call(rel, write) {
    const ctl = new AbortController();
    const t = setTimeout(() => ctl.abort(), write ? WRITE_TIMEOUT_MS : TIMEOUT_MS);
    const headers = {Accept: 'application/json'};
    if (write) headers['X-Request-Id'] = 'ui-' + Date.now().toString(36) + '-' + Math.random().toString(36).slice(2);
    try {
      const r = await fetch(BASE + rel, {signal: ctl.signal, cache: 'no-store', credentials: 'same-origin',
        method: write ? 'POST' : 'GET', headers});
      const body = await r.text();
      let data;
      try { data = JSON.parse(body); } catch (e) { data = undefined; }
      const envErr = data && !Array.isArray(data) && data.Code === 'ERROR';
      if (!r.ok || envErr) {
        const msg = data && data.Message ? data.Message : body.slice(0, 200);
        const e = new Error('HTTP ' + r.status + ' from ' + rel.replace(/\?.*/, '') + (msg ? ': ' + msg : ''));
        e.status = r.status;
        e.apiMessage = msg;
        throw e;
      }
      if (data === undefined) throw new Error('invalid JSON from ' + rel);
      return data;
    } catch (e) {
      if (e.name === 'AbortError') throw new Error('timeout waiting for ' + rel.replace(/\?.*/, ''));
      throw e;
    } finally {
      clearTimeout(t);
    }
  }
  const getJSON = (rel) => call(rel, false);

  /* ---- instance health ---- */

  const THREAD = {'-1': 'no thread', 0: 'stopped', 1: 'running', 2: 'other'};
  const LABEL = {
    last_check_invalid: 'last check failed', not_recently_checked: 'not recently checked',
    not_replicating: 'not replicating', replication_lag: 'replication lag',
    errant_gtid: 'errant GTID', group_replication_member_not_online: 'group member offline',
  };
  const thr = (i, t) => {
    const st = i['Replication' + t + 'ThreadState'];
    if (typeof st === 'number') return st;
    const run = i['Replication' + t + 'ThreadRuning'];
    return run === true ? 1 : run === false && validKey(i.MasterKey) ? 0 : -1;
  };
  const lagOf = (i) => {
    for (const f of ['ReplicationLagSeconds', 'SecondsBehindMaster']) {
      if (i[f] && i[f].Valid) return i[f].Int64;
    }
    return null;
  };
  const uptime = (s) => {
    if (!(s > 0)) return '';
    const d = Math.floor(s / 86400), hh = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
    return d ? d + 'd ' + hh + 'h' : hh ? hh + 'h ' + m + 'm' : m + 'm';
  };

  function assess(i) {
    const findings = S.findings.byInst.get(keyOf(i.Key)) || [];
    const codes = new Set(i.Problems || []);
    const isReplica = validKey(i.MasterKey);
    const sql = thr(i, 'SQL'), io = thr(i, 'IO');
    const lag = lagOf(i);
    if (i.IsLastCheckValid === false) codes.add('last_check_invalid');
    if (isReplica && (sql !== 1 || io !== 1)) codes.add('not_replicating');
    if (isReplica && lag !== null && lag > LAG) codes.add('replication_lag');
    if (i.GtidErrant) codes.add('errant_gtid');
    const reasons = [...codes].map((c) => LABEL[c] || String(c).replace(/_/g, ' '));
    for (const a of findings) reasons.push('analysis: ' + a);
    const broken = reasons.length || i.LastSQLError || i.LastIOError;
    const state = i.IsLastCheckValid === false ? 'dead' : broken ? 'problem' : 'ok';
    return {state, reasons, isReplica, lag};
  }

  /* Tree: replicas nest under their master (by MasterKey). Instances whose master is not in
   * the cluster are roots; cycles (co-masters) are cut at a writable member so every
   * instance appears exactly once. */
  function buildForest(insts) {
    const by = new Map(insts.map((i) => [keyOf(i.Key), i]));
    const kids = new Map();
    const roots = [];
    for (const i of insts) {
      const k = keyOf(i.Key), m = keyOf(i.MasterKey);
      if (validKey(i.MasterKey) && m !== k && by.has(m)) {
        if (!kids.has(m)) kids.set(m, []);
        kids.get(m).push(i);
      } else {
        roots.push(i);
      }
    }
    const rank = (i) => (i.ReadOnly ? 1 : 0);
    const order = (a, b) => rank(a) - rank(b) || cmpText(keyOf(a.Key), keyOf(b.Key));
    const seen = new Set();
    const walk = (i) => {
      seen.add(keyOf(i.Key));
      const node = {i, kids: []};
      for (const c of (kids.get(keyOf(i.Key)) || []).sort(order)) {
        if (!seen.has(keyOf(c.Key))) node.kids.push(walk(c));
      }
      return node;
    };
    const forest = roots.sort(order).map(walk);
    for (;;) {
      const rest = insts.filter((i) => !seen.has(keyOf(i.Key))).sort(order);
      if (!rest.length) break;
      const node = walk(rest[0]);
      node.cycle = true;
      forest.push(node);
    }
    const cat = (n) => (n.cycle ? 1 : validKey(n.i.MasterKey) ? 2 : 0);
    forest.sort((a, b) => cat(a) - cat(b));
    return {forest, by};
  }

  /* What a card shows, as plain data: compared between polls so unchanged clusters keep
   * their elements (no flicker, focus kept). */
  function cardModel(node, by) {
    const i = node.i, k = keyOf(i.Key);
    const a = assess(i);
    const mk = validKey(i.MasterKey) ? keyOf(i.MasterKey) : '';
    const role = mk && !by.has(mk) ? 'orphan' : i.IsCoMaster || (node.cycle && mk) ? 'co-master'
      : !mk ? 'master' : node.kids.length ? 'intermediate' : 'replica';
    const ver = i.FlavorName && !String(i.Version || '').includes(i.FlavorName)
      ? [i.FlavorName, i.Version].filter(Boolean).join(' ') : i.Version || i.FlavorName;
    const repl = a.isReplica || thr(i, 'SQL') > -1 || thr(i, 'IO') > -1;
    return {
      k, mk, role, state: a.state, reasons: a.reasons, lag: a.lag, repl, io: thr(i, 'IO'), sql: thr(i, 'SQL'),
      ro: !!i.ReadOnly, dc: i.DataCenter || '', up: uptime(i.Uptime), ver: ver || '', check: i.IsLastCheckValid !== false,
      dt: !!i.IsDowntimed, dtWho: [i.DowntimeOwner, i.DowntimeReason].filter(Boolean).join(': '),
      dtEnd: i.DowntimeEndTimestamp || '', maint: !!i.IsInMaintenance, cycle: !!node.cycle,
      alias: i.InstanceAlias && i.InstanceAlias !== k ? i.InstanceAlias : '',
      errs: [['SQL', i.LastSQLError], ['IO', i.LastIOError]].filter((e) => e[1]),
      nkids: node.kids.length, kids: node.kids.map((c) => cardModel(c, by)),
    };
  }

  function threadEl(name, st) {
    const cls = st === 1 ? 'ok' : st === 0 ? 'bad' : st === -1 ? 'muted' : 'warn';
    return h('span', {class: 'thr'}, h('abbr', {title: name + ' thread', text: name}), ' ',
      h('b', {class: 't-' + cls, text: THREAD[st] || 'unknown'}));
  }

  function cardEl(m, cluster) {
    const roleText = {orphan: 'replica', intermediate: 'intermediate master'}[m.role] || m.role;
    const stText = {ok: 'OK', problem: 'PROBLEM', dead: 'DEAD'}[m.state];
    const label = `${m.k}, ${roleText}, ${stText}${m.reasons.length ? ': ' + m.reasons.join(', ') : ''}`;
    const sel = S.route.inst === m.k;
    const notes = [];
    if (m.mk && (m.role === 'orphan' || m.cycle)) {
      notes.push(h('p', {class: 'note', text: `${m.role === 'orphan' ? 'master not known' : 'replicates from'}: ${m.mk}`}));
    }
    if (m.alias) notes.push(h('p', {class: 'note', text: 'alias ' + m.alias}));
    if (m.dt) {
      notes.push(h('p', {class: 'note dtn', text: `downtimed${m.dtWho ? ' \u2014 ' + m.dtWho : ''}${m.dtEnd ? ' until ' + m.dtEnd : ''}`}));
    }
    if (m.maint) notes.push(h('p', {class: 'note dtn', text: 'in maintenance'}));
    const lagTxt = m.lag === null ? '\u2014' : m.lag + 's';
    const lagCls = m.lag === null ? 'muted' : m.lag > LAG ? 'bad' : 'ok';
    return h('article', {
      class: `inst st-${m.state}${m.dt ? ' dt' : ''}${sel ? ' selected' : ''}`, tabindex: 0,
      'aria-label': label, 'aria-current': sel ? 'true' : null,
      data: {instance: m.k, master: m.mk, state: m.state, role: m.role, downtimed: String(m.dt), cluster},
    },
    h('header', null, h('h3', {class: 'key', title: m.k, text: m.k}), h('span', {class: 'chip st-' + m.state, text: stText})),
    h('p', {class: 'role'}, roleText, ' \u00b7 ', h('span', {class: m.check ? 'muted' : 't-bad', text: m.check ? 'check ok' : 'check failed'}),
      m.dt ? [' ', h('span', {class: 'chip dt', text: 'DOWNTIMED'})] : null),
    h('p', {class: 'ver', title: m.ver, text: m.ver || 'version unknown'}),
    h('p', {class: 'meta'}, h('span', {class: 'badge ' + (m.ro ? 'ro' : 'rw'), text: m.ro ? 'read_only' : 'writable'}),
      m.dc ? h('span', {class: 'dc', title: 'data center', text: m.dc}) : null,
      m.up ? h('span', {title: 'uptime', text: 'up ' + m.up}) : null),
    m.repl ? h('p', {class: 'repl'}, threadEl('IO', m.io), threadEl('SQL', m.sql),
      h('span', {class: 'thr'}, 'lag ', h('b', {class: 't-' + lagCls, data: {lag: m.lag === null ? '' : String(m.lag)}, text: lagTxt}))) : null,
    notes,
    m.reasons.length ? h('ul', {class: 'issues', 'aria-label': 'problems'}, m.reasons.map((r) => h('li', {text: r}))) : null,
    m.errs.map((e) => h('p', {class: 'err', title: e[1]}, h('b', {text: e[0] + ' error:'}), ' ', e[1])),
    canWrite() && m.nkids ? h('button', {type: 'button', class: 'rh', data: {drag: 'replicas'},
      title: `Drag onto another instance to move the ${plural(m.nkids, 'replica')} of ${m.k} below it`,
      text: `\u21c9 ${plural(m.nkids, 'replica')}`}) : null);
  }

  function nodeEl(m, cluster) {
    return h('li', {class: 'node'}, cardEl(m, cluster),
      m.kids.length ? h('ul', {class: 'kids', 'aria-label': 'replicas of ' + m.k}, m.kids.map((c) => nodeEl(c, cluster))) : null);
  }

  /* ---- clusters: dashboard and cluster view ---- */

  function clusterStats(name) {
    const insts = S.insts.get(name) || [];
    let bad = 0, dead = 0;
    for (const i of insts) {
      const st = assess(i).state;
      if (st !== 'ok') bad++;
      if (st === 'dead') dead++;
    }
    return {n: insts.length, bad, dead};
  }

  function isExpanded(name) {
    if (S.route.page === 'cluster') return true;
    if (S.open.has(name)) return true;
    if (S.shut.has(name)) return false;
    return S.clusters.length <= EXPAND_MAX;
  }

  function clusterModel(ci) {
    const name = ci.ClusterName;
    const insts = S.insts.get(name) || [];
    const st = clusterStats(name);
    const open = isExpanded(name);
    const model = {
      name, alias: ci.ClusterAlias && ci.ClusterAlias !== name ? ci.ClusterAlias : '',
      count: insts.length || ci.CountInstances || 0, bad: st.bad, dead: st.dead,
      findings: S.findings.byCluster.get(name) || [], auto: !!ci.HasAutomatedMasterRecovery,
      open, page: S.route.page, write: canWrite(), sel: S.route.inst || '',
    };
    if (open) {
      const {forest, by} = buildForest(insts);
      model.forest = forest.map((n) => cardModel(n, by));
    }
    return model;
  }

  function clusterEl(s, m) {
    const onPage = m.page === 'cluster';
    const title = m.alias || m.name;
    const head = h('header', null,
      onPage ? null : h('button', {type: 'button', class: 'toggle', 'aria-expanded': String(m.open),
        'aria-label': (m.open ? 'Collapse ' : 'Expand ') + title, data: {toggle: m.name}, text: m.open ? '\u25be' : '\u25b8'}),
      h('h2', null, onPage ? title : h('a', {href: '#/cluster/' + encodeURIComponent(m.name), text: title})),
      m.alias ? h('span', {class: 'cname', text: m.name}) : null,
      h('span', {class: 'count', text: plural(m.count, 'instance')}),
      m.bad ? h('span', {class: 'count t-bad', text: `${m.bad} with problems`}) : null,
      m.findings.map((f) => h('span', {class: 'chip st-problem', title: 'replication analysis', text: f})),
      m.auto ? h('span', {class: 'chip auto', title: 'automated master recovery enabled', text: 'auto-recovery'})
        : h('span', {class: 'chip off', title: 'automated master recovery not enabled for this cluster', text: 'no auto-recovery'}),
      onPage && m.write ? clusterActionsEl(m) : null);
    s.el.replaceChildren(head);
    s.el.classList.toggle('has-problem', m.bad > 0 || m.findings.length > 0);
    s.el.classList.toggle('collapsed', !m.open);
    s.el.dataset.health = m.dead ? 'dead' : m.bad || m.findings.length ? 'problem' : 'ok';
    if (!m.open) return;
    const body = !m.forest.length ? h('p', {class: 'muted', text: 'No instances.'})
      : h('ul', {class: 'tree'}, m.forest.map((n) => nodeEl(n, m.name)));
    s.el.append(h('div', {class: 'scroll'}, body));
  }

  function matchesFilter(ci) {
    const f = S.filter.trim().toLowerCase();
    if (S.problemsOnly) {
      const st = clusterStats(ci.ClusterName);
      if (!st.bad && !(S.findings.byCluster.get(ci.ClusterName) || []).length) return false;
    }
    if (!f) return true;
    if ((ci.ClusterName + ' ' + (ci.ClusterAlias || '')).toLowerCase().includes(f)) return true;
    return (S.insts.get(ci.ClusterName) || []).some((i) => keyOf(i.Key).toLowerCase().includes(f) ||
      String(i.InstanceAlias || '').toLowerCase().includes(f));
  }

  function toolbarEl() {
    let tb = $('toolbar');
    if (tb) return tb;
    tb = h('div', {id: 'toolbar', class: 'toolbar'},
      h('label', {for: 'filter'}, 'Filter '),
      h('input', {id: 'filter', type: 'search', placeholder: 'cluster, alias or instance', autocomplete: 'off',
        oninput: (e) => { S.filter = e.target.value; renderClusters(); }}),
      h('label', null, h('input', {id: 'problems-only', type: 'checkbox',
        onchange: (e) => { S.problemsOnly = e.target.checked; renderClusters(); }}), ' problems only'),
      h('button', {type: 'button', id: 'expand-all', text: 'Expand all', onclick: () => setAll(true)}),
      h('button', {type: 'button', id: 'collapse-all', text: 'Collapse all', onclick: () => setAll(false)}),
      h('span', {id: 'shown-count', class: 'muted'}));
    return tb;
  }

  function setAll(open) {
    for (const ci of S.clusters) {
      if (!matchesFilter(ci)) continue;
      (open ? S.open : S.shut).add(ci.ClusterName);
      (open ? S.shut : S.open).delete(ci.ClusterName);
    }
    renderClusters();
  }

  function renderClusters() {
    const t0 = performance.now();
    drawClusters();
    document.body.dataset.renderMs = (performance.now() - t0).toFixed(1);
  }

  function drawClusters() {
    const main = $('clusters');
    const onPage = S.route.page === 'cluster';
    const tb = toolbarEl();
    tb.hidden = onPage;
    if (main.firstChild !== tb) main.prepend(tb);
    let list = $('cluster-list');
    if (!list) { list = h('div', {id: 'cluster-list'}); main.append(list); }
    const want = S.clusters.filter((ci) => (onPage ? ci.ClusterName === S.route.cluster : matchesFilter(ci)));
    const keep = new Set();
    want.forEach((ci, n) => {
      const m = clusterModel(ci);
      const sig = JSON.stringify(m);
      keep.add(ci.ClusterName);
      let s = shown.get(ci.ClusterName);
      if (!s) {
        s = {el: h('section', {class: 'cluster', data: {cluster: ci.ClusterName}}), sig: ''};
        shown.set(ci.ClusterName, s);
      }
      if (s.sig !== sig) {
        const had = document.activeElement && s.el.contains(document.activeElement) ? document.activeElement : null;
        const focusKey = had && had.dataset.instance, focusToggle = had && had.dataset.toggle;
        clusterEl(s, m);
        s.sig = sig;
        const again2 = focusKey ? s.el.querySelector(`[data-instance="${CSS.escape(focusKey)}"]`)
          : focusToggle ? s.el.querySelector('[data-toggle]') : null;
        if (again2) again2.focus();
      }
      if (list.children[n] !== s.el) list.insertBefore(s.el, list.children[n] || null);
    });
    for (const [name, s] of shown) if (!keep.has(name)) { s.el.remove(); shown.delete(name); }
    let empty = $('empty');
    const msg = !S.clusters.length ? 'No clusters known yet. Discover an instance (Discover page, or orchestrator -c discover -i host:port).'
      : !want.length ? (onPage ? `Unknown cluster: ${S.route.cluster}` : 'No cluster matches the filter.') : '';
    if (msg && !empty) { empty = h('p', {id: 'empty', class: 'empty'}); list.append(empty); }
    if (empty) { if (msg) empty.textContent = msg; else empty.remove(); }
    $('shown-count').textContent = `${want.length} of ${plural(S.clusters.length, 'cluster')} shown`;
  }

  /* ---- actions ---- */

  function notice(text, ok, action) {
    const box = $('notices');
    const el = h('p', {class: 'notice ' + (ok ? 'ok' : 'bad'), data: {result: ok ? 'ok' : 'error', action: action || ''}},
      h('span', {text}), h('button', {type: 'button', class: 'x', 'aria-label': 'Dismiss', text: '\u00d7', onclick: () => el.remove()}));
    box.prepend(el);
    while (box.children.length > 4) box.lastChild.remove();
  }

  /* A modal asking to confirm; fields: [{name, label, value, options?, required?}].
   * Resolves to the field values, or null when cancelled. */
  function confirmDialog({title, text, fields, okLabel, danger}) {
    const d = $('confirm');
    $('confirm-title').textContent = title;
    $('confirm-text').textContent = text;
    const box = $('confirm-fields');
    box.replaceChildren(...(fields || []).map((f, n) => {
      const id = 'cf-' + n;
      const input = f.options
        ? h('select', {id, name: f.name}, f.options.map((o) => h('option', {value: o[0], text: o[1], selected: o[0] === f.value})))
        : h('input', {id, name: f.name, type: 'text', value: f.value || '', required: !!f.required, autocomplete: 'off'});
      return h('p', {class: 'field'}, h('label', {for: id, text: f.label}), input);
    }));
    const ok = $('confirm-ok');
    ok.textContent = okLabel || 'Confirm';
    ok.classList.toggle('danger', !!danger);
    return new Promise((resolve) => {
      let settled = false;
      const done = (v) => { if (settled) return; settled = true; if (d.open) d.close(); resolve(v); };
      $('confirm-form').onsubmit = (e) => {
        e.preventDefault();
        const vals = {};
        for (const el of box.querySelectorAll('input,select')) vals[el.name] = el.value.trim();
        if ((fields || []).some((f) => f.required && !vals[f.name])) return;
        done(vals);
      };
      $('confirm-cancel').onclick = () => done(null);
      d.oncancel = () => done(null);
      d.onclose = () => done(null);
      d.showModal();
      (box.querySelector('input,select') || ok).focus();
    });
  }

  /* Confirm, call, report, refresh. spec: {label, target, text, rel(values) -> route, fields, danger}. */
  async function act(spec) {
    const vals = await confirmDialog({title: `${spec.label}: ${spec.target}`, text: spec.text, fields: spec.fields,
      okLabel: spec.label, danger: spec.danger});
    if (!vals) return false;
    const rel = 'api/' + spec.rel(vals);
    document.body.dataset.acting = spec.id;
    try {
      const res = await call(rel, true);
      notice(`${spec.label} (${spec.target}): ${res && res.Message ? res.Message : 'done'}`, true, spec.id);
      return true;
    } catch (e) {
      const miss = e.status === 404 && /unknown route/.test(e.apiMessage || '');
      notice(`${spec.label} (${spec.target}) failed: ${e.apiMessage || e.message}${miss ? ' (this server does not have that API route)' : ''}`, false, spec.id);
      return false;
    } finally {
      delete document.body.dataset.acting;
      refreshSoon();
    }
  }

  const RULES = [['prefer', 'prefer'], ['neutral', 'neutral'], ['prefer_not', 'prefer not'], ['must_not', 'must not']];

  /* The actions offered for instance i, by what it is now. */
  function instanceActions(i) {
    const k = keyOf(i.Key), m = keyOf(i.MasterKey), cluster = i.ClusterName;
    const replica = validKey(i.MasterKey), detached = detachedKey(i.MasterKey);
    const kidsOf = S.kids.get(k) || [];
    const others = (S.insts.get(cluster) || []).map((x) => keyOf(x.Key))
      .filter((x) => x !== k && x !== m && !descendantOf(x, k)).sort(cmpText);
    const A = [];
    const add = (id, label, text, rel, more) => A.push({id, label, target: k, text, rel: rel || (() => `${id}/${hp(k)}`), ...more});
    if (replica || detached) {
      add('start-replica', 'Start replication', `Start the replication threads (IO and SQL) on ${k}, replicating from ${m || 'its detached master'}.`);
      add('stop-replica', 'Stop replication', `Stop replication on ${k}: it stops fetching and applying changes from ${m} until started again.`);
      add('restart-replica', 'Restart replication', `Stop and start the replication threads on ${k}.`);
      add('skip-query', 'Skip query', `Skip the event the SQL thread of ${k} is stuck on: that statement is not applied, so ${k}'s data may differ from its master's.`);
      if (detached) add('reattach-replica', 'Reattach', `Point ${k} back at the master it was detached from (${i.MasterKey.Hostname.slice(2)}:${i.MasterKey.Port}).`);
      else add('detach-replica', 'Detach', `Detach ${k} from ${m}: its master host becomes //${i.MasterKey.Hostname} so it stops replicating; reattach undoes it.`);
      add('reset-replica', 'Reset replication', `Reset replication on ${k}: it forgets its master ${m} and its relay logs and is no longer a replica.`, null, {danger: true});
    }
    if (i.ReadOnly) add('set-writeable', 'Set writeable', `Set read_only=0 on ${k}: clients may write to it.`, null, {danger: replica});
    else add('set-read-only', 'Set read-only', `Set read_only=1 on ${k}: clients without SUPER can no longer write to it.`, null, {danger: !replica});
    if (i.GtidErrant) {
      add('gtid-errant-reset-master', 'Fix errant GTID (reset master)', `Remove the errant transactions ${i.GtidErrant} from ${k}'s executed GTID set with RESET MASTER; its binary logs are purged.`, null, {danger: true});
      add('gtid-errant-inject-empty', 'Fix errant GTID (inject empty)', `Inject empty transactions for ${i.GtidErrant} on the master of ${k}'s cluster, so the errant transactions are no longer errant.`);
    }
    if (i.IsDowntimed) add('end-downtime', 'End downtime', `End the downtime of ${k}: failures on it are acted upon again.`);
    else add('begin-downtime', 'Begin downtime', `Downtime ${k}: no recovery is run for failures on it while the downtime lasts.`,
      (v) => `begin-downtime/${hp(k)}/${seg(v.owner)}/${seg(v.reason)}/${seg(v.duration)}`,
      {fields: [{name: 'owner', label: 'Owner', value: (S.me && S.me.User) || 'web-ui', required: true},
        {name: 'reason', label: 'Reason', value: 'maintenance', required: true},
        {name: 'duration', label: 'Duration (e.g. 30m, 2h, 1d)', value: '1h', required: true}]});
    if (i.IsInMaintenance) add('end-maintenance', 'End maintenance', `End the maintenance mark on ${k}, so operations may touch it again.`);
    add('register-candidate', 'Promotion rule', `Register the promotion rule of ${k} (now ${i.PromotionRule || 'neutral'}), used to pick who is promoted in a failover.`,
      (v) => `register-candidate/${hp(k)}/${seg(v.rule)}`,
      {fields: [{name: 'rule', label: 'Rule', value: i.PromotionRule || 'neutral', options: RULES}]});
    if (replica && others.length) {
      add('relocate', 'Move below', `Relocate ${k} (now replicating from ${m}) below the instance you choose; it then replicates from that one.`,
        (v) => `relocate/${hp(k)}/${hp(v.below)}`, {fields: [{name: 'below', label: 'New master', value: others[0], options: others.map((x) => [x, x])}]});
    }
    if (kidsOf.length) {
      const dest = (S.insts.get(cluster) || []).map((x) => keyOf(x.Key)).filter((x) => x !== k && !descendantOf(x, k)).sort(cmpText);
      if (dest.length) {
        add('relocate-replicas', 'Move replicas', `Relocate the ${plural(kidsOf.length, 'replica')} of ${k} (${kidsOf.join(', ')}) below the instance you choose.`,
          (v) => `relocate-replicas/${hp(k)}/${hp(v.below)}`, {fields: [{name: 'below', label: 'New master', value: dest[0], options: dest.map((x) => [x, x])}]});
      }
    }
    const master = (S.insts.get(cluster) || []).find((x) => !validKey(x.MasterKey) && keyOf(x.Key) === m);
    if (replica && master) {
      add('graceful-master-takeover', 'Make master (graceful takeover)', `Graceful master takeover of ${cluster}: ${k} becomes the master in place of ${m}; ${m} is set read-only and repointed below ${k}.`,
        () => `graceful-master-takeover/${seg(cluster)}/${hp(k)}`, {danger: true});
    }
    add('recover', 'Recover', `Run a recovery for ${k} now, as if its failure had been detected; this may promote a replica and repoint others.`, null, {danger: true});
    add('forget', 'Forget', `Forget ${k}: remove it from orchestrator's topology until it is discovered again. The server itself is not changed.`, null, {danger: true});
    return A;
  }

  function clusterActionsEl(m) {
    const c = m.name;
    const specs = [
      {id: 'set-cluster-alias', label: 'Set alias', text: `Set the alias of cluster ${c} (now ${m.alias || 'none'}).`,
        rel: (v) => `set-cluster-alias/${seg(c)}?alias=${encodeURIComponent(v.alias)}`,
        fields: [{name: 'alias', label: 'Alias', value: m.alias, required: true}]},
      {id: 'graceful-master-takeover-auto', label: 'Graceful takeover', danger: true,
        text: `Graceful master takeover of ${c}: orchestrator picks the best replica, makes it the master, and puts the current master below it, read-only.`,
        rel: () => `graceful-master-takeover-auto/${seg(c)}`},
      {id: 'force-master-failover', label: 'Force failover', danger: true,
        text: `Force a master failover of ${c} now, even though the master may be healthy: a replica is promoted and the others repointed; the old master is left out.`,
        rel: () => `force-master-failover/${seg(c)}`},
      {id: 'ack-cluster', label: 'Acknowledge recoveries', text: `Acknowledge every recovery of cluster ${c}, so new recoveries are not blocked by them.`,
        rel: (v) => `ack-recovery/cluster/${seg(c)}?comment=${encodeURIComponent(v.comment)}`,
        fields: [{name: 'comment', label: 'Comment', value: 'acknowledged from the web UI', required: true}]},
    ];
    return h('span', {class: 'actions', role: 'group', 'aria-label': 'Cluster actions'},
      specs.map((sp) => h('button', {type: 'button', class: sp.danger ? 'danger' : null, data: {action: sp.id}, text: sp.label,
        onclick: () => act({...sp, target: c})})));
  }

  /* ---- instance panel ---- */

  function descendantOf(x, k) { /* x is below k in the replication tree */
    const seen = new Set();
    let cur = S.byKey.get(x);
    while (cur && validKey(cur.MasterKey)) {
      const m = keyOf(cur.MasterKey);
      if (m === k) return true;
      if (seen.has(m)) return false;
      seen.add(m);
      cur = S.byKey.get(m);
    }
    return false;
  }

  function renderPanel() {
    const p = $('panel');
    const k = S.route.page === 'cluster' ? S.route.inst : '';
    if (!k) { p.hidden = true; panelSig = ''; p.replaceChildren(); return; }
    const i = S.byKey.get(k);
    const acts = i && canWrite() ? instanceActions(i).map((a) => [a.id, a.label, a.text]) : [];
    const sig = JSON.stringify([k, i ? cardModel({i, kids: []}, new Map()) : null, i && i.PromotionRule, i && i.GtidErrant,
      i && i.ExecutedGtidSet, i && i.ServerID, acts, (S.kids.get(k) || []).length]);
    if (sig === panelSig && !p.hidden) return;
    panelSig = sig;
    const focused = p.contains(document.activeElement) ? document.activeElement.dataset.action || 'close' : null;
    p.hidden = false;
    const close = h('button', {type: 'button', class: 'x', data: {close: 'panel'}, 'aria-label': 'Close instance panel', text: '\u00d7',
      onclick: () => { location.hash = '#/cluster/' + encodeURIComponent(S.route.cluster); }});
    if (!i) {
      p.replaceChildren(h('header', null, h('h2', {text: k}), close), h('p', {class: 'muted', text: 'This instance is not known (any more).'}));
      return;
    }
    const a = assess(i);
    const rows = [
      ['Cluster', i.ClusterName], ['Master', validKey(i.MasterKey) ? keyOf(i.MasterKey) : detachedKey(i.MasterKey) ? 'detached from ' + keyOf(i.MasterKey).slice(2) : '(none)'],
      ['Replicas', (S.kids.get(k) || []).join(', ') || '(none)'], ['Version', [i.Version, i.VersionComment].filter(Boolean).join(' ')],
      ['Server id', i.ServerID], ['read_only', i.ReadOnly ? 'ON' : 'OFF'],
      ['Replication', a.isReplica ? `IO ${THREAD[thr(i, 'IO')]}, SQL ${THREAD[thr(i, 'SQL')]}, lag ${a.lag === null ? 'unknown' : a.lag + ' s'}` : '(not a replica)'],
      ['GTID', i.UsingMariaDBGTID ? 'MariaDB GTID' : i.UsingOracleGTID ? 'MySQL GTID' : 'off'],
      ['Errant GTID', i.GtidErrant || '(none)'], ['Data center', i.DataCenter], ['Promotion rule', i.PromotionRule],
      ['Downtime', i.IsDowntimed ? `${i.DowntimeOwner}: ${i.DowntimeReason} until ${i.DowntimeEndTimestamp}` : '(none)'],
      ['Maintenance', i.IsInMaintenance ? 'yes' : 'no'], ['Problems', a.reasons.join(', ') || '(none)'],
      ['Last SQL error', i.LastSQLError], ['Last IO error', i.LastIOError], ['Last seen', i.LastSeenTimestamp],
    ].filter((r) => r[1] !== undefined && r[1] !== '');
    const actions = canWrite() ? instanceActions(i) : [];
    p.replaceChildren(
      h('header', null, h('h2', {text: k}), h('span', {class: 'chip st-' + a.state, text: a.state.toUpperCase()}), close),
      h('dl', null, rows.map((r) => [h('dt', {text: r[0]}), h('dd', {text: String(r[1])})])),
      actions.length ? h('div', {class: 'actions', role: 'group', 'aria-label': 'Instance actions'},
        actions.map((sp) => h('button', {type: 'button', class: sp.danger ? 'danger' : null, data: {action: sp.id}, title: sp.text, text: sp.label,
          onclick: () => act(sp)})))
        : h('p', {class: 'muted', text: canWrite() ? '' : 'Read-only access: no actions.'}));
    if (focused) {
      const el = p.querySelector(`[data-action="${CSS.escape(focused)}"]`) || close;
      el.focus();
    }
  }

  /* ---- drag and drop (pointer events, so mouse, pen and touch work alike) ---- */

  let drag = null, suppressClick = false;
  const verdicts = new Map(); /* "src>dst" or "src>>dst" -> Promise<{ok, why}> */

  function localVerdict(kind, src, dst) {
    if (src === dst) return {ok: false, why: 'same instance'};
    if (descendantOf(dst, src)) return {ok: false, why: `${dst} replicates from ${src}`};
    const s = S.byKey.get(src), d = S.byKey.get(dst);
    if (!s || !d) return {ok: false, why: 'unknown instance'};
    if (kind === 'instance' && keyOf(s.MasterKey) === dst) return {ok: false, why: `${src} already replicates from ${dst}`};
    if (kind === 'instance' && !validKey(s.MasterKey)) return {ok: false, why: `${src} is not a replica`};
    if (kind === 'replicas' && !(S.kids.get(src) || []).length) return {ok: false, why: `${src} has no replicas`};
    return null;
  }

  /* Whether src (or src's replicas) may replicate from dst: local checks, then the API's
   * can-replicate-from. A server without that route (404) lets the relocation decide. */
  function verdict(kind, src, dst) {
    const id = src + (kind === 'replicas' ? '>>' : '>') + dst;
    if (verdicts.has(id)) return verdicts.get(id);
    const local = localVerdict(kind, src, dst);
    const probe = kind === 'replicas' ? (S.kids.get(src) || [])[0] : src;
    const pr = local ? Promise.resolve(local)
      : getJSON(`api/can-replicate-from/${hp(probe)}/${hp(dst)}`).then((r) => {
        const yes = r && (r.Message === 'true' || r.Details === true);
        return yes ? {ok: true, why: `${probe} can replicate from ${dst}`}
          : {ok: false, why: `${probe} cannot replicate from ${dst}` + (r && r.Reason ? ': ' + r.Reason
            : r && r.Message && r.Message !== 'false' ? ': ' + r.Message : '')};
      }).catch((e) => (e.status === 404 && /unknown route/.test(e.apiMessage || '')
        ? {ok: true, why: 'not checked (no can-replicate-from on this server); the relocation decides'}
        : {ok: false, why: e.apiMessage || e.message}));
    verdicts.set(id, pr);
    setTimeout(() => verdicts.delete(id), 10000);
    return pr;
  }

  function clearTarget() {
    if (drag && drag.targetEl) {
      drag.targetEl.classList.remove('drop-ok', 'drop-bad', 'drop-checking');
      delete drag.targetEl.dataset.drop;
      drag.targetEl.removeAttribute('title');
    }
  }

  function markTarget(el) {
    if (!drag || el === drag.targetEl) return;
    clearTarget();
    drag.targetEl = el;
    drag.check = null;
    if (!el) { drag.ghost.lastChild.textContent = 'drop on an instance'; return; }
    const dst = el.dataset.instance, kind = drag.kind, src = drag.src;
    el.dataset.drop = 'checking';
    el.classList.add('drop-checking');
    drag.ghost.lastChild.textContent = `checking ${dst}\u2026`;
    const pr = verdict(kind, src, dst);
    drag.check = pr;
    pr.then((v) => {
      if (!drag || drag.targetEl !== el) return;
      el.classList.remove('drop-checking');
      el.classList.add(v.ok ? 'drop-ok' : 'drop-bad');
      el.dataset.drop = v.ok ? 'ok' : 'bad';
      el.title = (v.ok ? 'Drop to move below: ' : 'Cannot move here: ') + v.why;
      drag.ghost.lastChild.textContent = (v.ok ? '\u2713 below ' : '\u2717 ') + (v.ok ? dst : v.why);
    });
  }

  function onPointerDown(e) {
    if (e.button !== 0 || !canWrite() || drag) return;
    const card = e.target.closest('[data-instance]');
    if (!card || e.target.closest('button:not([data-drag])')) return;
    const kind = e.target.closest('[data-drag="replicas"]') ? 'replicas' : 'instance';
    drag = {kind, src: card.dataset.instance, srcEl: card, x: e.clientX, y: e.clientY, started: false, targetEl: null};
  }

  function onPointerMove(e) {
    if (!drag) return;
    if (!drag.started) {
      if (Math.abs(e.clientX - drag.x) + Math.abs(e.clientY - drag.y) < 6) return;
      drag.started = true;
      window.getSelection().removeAllRanges();
      document.body.classList.add('dragging');
      drag.srcEl.classList.add('drag-src');
      const what = drag.kind === 'replicas' ? `replicas of ${drag.src}` : drag.src;
      drag.ghost = h('div', {class: 'ghost', 'aria-hidden': 'true'}, h('b', {text: 'Move ' + what}), h('span', {text: ''}));
      document.body.append(drag.ghost);
    }
    e.preventDefault();
    drag.ghost.style.transform = `translate(${e.clientX + 14}px, ${e.clientY + 10}px)`;
    const under = document.elementFromPoint(e.clientX, e.clientY);
    const el = under && under.closest('[data-instance]');
    markTarget(el && el !== drag.srcEl ? el : null);
  }

  async function onPointerUp() {
    if (!drag) return;
    const d = drag;
    if (!d.started) { drag = null; return; }
    suppressClick = true;
    setTimeout(() => { suppressClick = false; }, 0);
    const el = d.targetEl, check = d.check;
    const v = check ? await check : null;
    clearTarget();
    d.ghost.remove();
    d.srcEl.classList.remove('drag-src');
    document.body.classList.remove('dragging');
    drag = null;
    if (!el || !v) return;
    const dst = el.dataset.instance;
    if (!v.ok) { notice(`Cannot move ${d.kind === 'replicas' ? 'the replicas of ' + d.src : d.src} below ${dst}: ${v.why}`, false, 'relocate'); return; }
    const s = S.byKey.get(d.src);
    if (d.kind === 'replicas') {
      const kids = S.kids.get(d.src) || [];
      await act({id: 'relocate-replicas', label: 'Move replicas', target: d.src,
        text: `Relocate the ${plural(kids.length, 'replica')} of ${d.src} (${kids.join(', ')}) below ${dst}: they will replicate from ${dst}.`,
        rel: () => `relocate-replicas/${hp(d.src)}/${hp(dst)}`});
    } else {
      await act({id: 'relocate', label: 'Move below', target: d.src,
        text: `Relocate ${d.src} below ${dst}: it will replicate from ${dst} instead of ${keyOf(s && s.MasterKey)}.`,
        rel: () => `relocate/${hp(d.src)}/${hp(dst)}`});
    }
  }

  function cancelDrag() {
    if (!drag) return;
    if (drag.started) {
      clearTarget();
      drag.ghost.remove();
      drag.srcEl.classList.remove('drag-src');
      document.body.classList.remove('dragging');
    }
    drag = null;
  }

  const PAGES = window.orcPages({h, getJSON, keyOf, canWrite, act, seg, S});

  async function renderPage(force) {
    const pg = $('page');
    const r = S.route;
    if (r.page === 'dashboard' || r.page === 'cluster') { pg.hidden = true; pageSig = ''; return; }
    pg.hidden = false;
    if (r.page === 'discover') {
      if (pageSig !== 'discover:' + canWrite()) { pg.replaceChildren(...PAGES.discover()); pageSig = 'discover:' + canWrite(); }
      return;
    }
    const fn = r.page !== 'discover' ? PAGES[r.page] : null;
    if (!fn) { pg.replaceChildren(h('p', {class: 'empty', text: 'Unknown page.'})); return; }
    let kids;
    try { kids = await fn(); } catch (e) { kids = [h('p', {class: 'err', text: e.message})]; }
    if (S.route !== r) return; /* navigated away meanwhile */
    const div = h('div', null, kids);
    const sig = r.page + '|' + div.innerHTML; /* our own markup, built from text nodes */
    if (sig === pageSig && !force) return;
    const fid = pg.contains(document.activeElement) ? document.activeElement.dataset.uid : null;
    pageSig = sig;
    pg.replaceChildren(...div.childNodes);
    pg.dataset.page = r.page;
    if (fid) { const el = pg.querySelector(`[data-uid="${CSS.escape(fid)}"]`); if (el) el.focus(); }
  }

  /* ---- routing ---- */

  function parseRoute() {
    const parts = location.hash.replace(/^#\/?/, '').split('/').map((p) => { try { return decodeURIComponent(p); } catch (e) { return p; } });
    const page = parts[0] || 'dashboard';
    if (page === 'cluster') return {page, cluster: parts[1] || '', inst: parts[2] || ''};
    if (page === 'instance') return {page: 'cluster', cluster: (S.byKey.get(parts[1]) || {}).ClusterName || '', inst: parts[1] || ''};
    return {page, arg: parts.slice(1).join('/')};
  }

  function applyRoute() {
    S.route = parseRoute();
    const r = S.route;
    document.body.dataset.page = r.page;
    for (const a of document.querySelectorAll('[data-nav]')) {
      const cur = a.dataset.nav === r.page || (a.dataset.nav === 'dashboard' && r.page === 'cluster');
      if (cur) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
    }
    const clusterish = r.page === 'dashboard' || r.page === 'cluster';
    $('clusters').hidden = !clusterish;
    document.title = 'orchestrator' + (r.page === 'cluster' ? ' \u2014 ' + r.cluster + (r.inst ? ' / ' + r.inst : '') : r.page !== 'dashboard' ? ' \u2014 ' + r.page : '');
    renderAll();
    renderPage(true);
  }

  function renderAll() {
    const t0 = performance.now();
    if (S.route.page === 'dashboard' || S.route.page === 'cluster') renderClusters();
    renderPanel();
    renderTop();
    document.body.dataset.renderMs = (performance.now() - t0).toFixed(1);
  }

  function renderTop() {
    let total = 0, bad = 0;
    for (const ci of S.clusters) { const st = clusterStats(ci.ClusterName); total += st.n; bad += st.bad; }
    $('summary').textContent = `${plural(S.clusters.length, 'cluster')} \u00b7 ${plural(total, 'instance')}${bad ? ` \u00b7 ${bad} with problems` : ''}`;
    const rs = $('recovery-state');
    rs.replaceChildren();
    if (S.recoveries) {
      const on = S.recoveries === 'enabled';
      rs.className = 'chip ' + (on ? 'auto' : 'st-problem');
      rs.dataset.state = S.recoveries;
      rs.append(h('span', {text: on ? 'recoveries enabled' : 'recoveries disabled'}));
      if (canWrite()) {
        rs.append(' ', h('button', {type: 'button', class: 'mini', data: {action: on ? 'disable-global-recoveries' : 'enable-global-recoveries'},
          text: on ? 'disable' : 'enable',
          onclick: () => act({id: on ? 'disable-global-recoveries' : 'enable-global-recoveries', label: on ? 'Disable recoveries' : 'Enable recoveries',
            target: 'every cluster', danger: on,
            text: on ? 'Disable automated recoveries globally: no failover runs on any cluster until they are enabled again.'
              : 'Enable automated recoveries globally: failures are recovered again as configured.',
            rel: () => (on ? 'disable-global-recoveries' : 'enable-global-recoveries')})}));
      }
    }
    const who = $('whoami');
    who.textContent = S.me ? (S.me.User ? S.me.User : '') + (S.me.CanWrite ? '' : ' (read-only)') : '';
    document.body.dataset.canWrite = S.me ? String(!!S.me.CanWrite) : 'unknown';
  }

  /* ---- polling ---- */

  function indexFindings(env) {
    const byInst = new Map(), byCluster = new Map();
    const list = env && Array.isArray(env.Details) ? env.Details : Array.isArray(env) ? env : [];
    for (const a of list) {
      if (!a || !a.Analysis || a.Analysis === 'NoProblem') continue;
      const k = keyOf(a.AnalyzedInstanceKey);
      const c = (a.ClusterDetails && a.ClusterDetails.ClusterName) || '';
      if (!byInst.has(k)) byInst.set(k, []);
      byInst.get(k).push(a.Analysis);
      if (!byCluster.has(c)) byCluster.set(c, []);
      byCluster.get(c).push(a.Analysis + ' on ' + k);
    }
    return {byInst, byCluster};
  }

  function index(clusters, insts) {
    S.clusters = clusters;
    S.insts = new Map(clusters.map((c) => [c.ClusterName, []]));
    S.byKey = new Map();
    S.kids = new Map();
    for (const i of insts) {
      const k = keyOf(i.Key);
      S.byKey.set(k, i);
      if (!S.insts.has(i.ClusterName)) S.insts.set(i.ClusterName, []);
      S.insts.get(i.ClusterName).push(i);
      if (validKey(i.MasterKey)) {
        const m = keyOf(i.MasterKey);
        if (!S.kids.has(m)) S.kids.set(m, []);
        S.kids.get(m).push(k);
      }
    }
    for (const l of S.kids.values()) l.sort(cmpText);
  }

  function showStatus() {
    const every = REFRESH > 0 ? `, every ${REFRESH} s` : ', auto-refresh off';
    if (!lastOk) { $('updated').textContent = 'Loading\u2026'; return; }
    const age = Math.max(0, Math.round((Date.now() - lastOk) / 1000));
    $('updated').textContent = `Updated ${clock(lastOk)} (${age} s ago${every})`;
  }

  function showError(e) {
    const b = $('error');
    document.body.dataset.api = e ? 'error' : 'ok';
    $('content').classList.toggle('stale', !!e);
    if (!e) { b.hidden = true; b.textContent = ''; return; }
    b.textContent = `Cannot reach the orchestrator API: ${e.message || e}. ` +
      (lastOk ? `Showing data from ${clock(lastOk)}; ` : '') + (REFRESH > 0 ? `retrying every ${REFRESH} s.` : 'press Refresh now to retry.');
    b.hidden = false;
  }

  async function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    clearTimeout(timer);
    try {
      /* whoami each time: rights follow a config reload or new credentials. */
      const [me, clusters, insts, analysis, rec] = await Promise.all([
        getJSON('api/whoami').catch(() => ({User: '', CanWrite: false, unknown: true})),
        /* Go encodes an empty list as null: read null as []. */
        getJSON('api/clusters-info').then((c) => c || []),
        getJSON('api/all-instances').then((c) => c || []),
        getJSON('api/replication-analysis').catch(() => null),
        getJSON('api/check-global-recoveries').catch(() => null),
      ]);
      if (!Array.isArray(clusters)) throw new Error('api/clusters-info did not return a list');
      if (!Array.isArray(insts)) throw new Error('api/all-instances did not return a list');
      clusters.sort((a, b) => cmpText(a.ClusterAlias || a.ClusterName, b.ClusterAlias || b.ClusterName));
      S.me = me;
      S.findings = indexFindings(analysis);
      S.recoveries = rec && typeof rec.Details === 'string' ? rec.Details : null;
      index(clusters, insts);
      if (S.route.page === 'cluster' && !S.route.cluster && S.route.inst) applyRoute();
      if (!drag) renderAll();
      await renderPage(false);
      lastOk = Date.now();
      refreshes++;
      document.body.dataset.refreshes = refreshes;
      document.body.dataset.updated = lastOk;
      if (!document.body.dataset.firstRender) document.body.dataset.firstRender = performance.now().toFixed(0);
      showError(null);
    } catch (e) {
      showError(e);
    } finally {
      busy = false;
      $('clusters').setAttribute('aria-busy', 'false');
      showStatus();
      if (again) { again = false; timer = setTimeout(refresh, 0); } else if (REFRESH > 0) timer = setTimeout(refresh, REFRESH * 1000);
    }
  }

  /* After an action: at once, and again shortly (discovery re-reads the servers). */
  function refreshSoon() {
    refresh();
    setTimeout(refresh, 1000);
  }

  /* ---- events ---- */

  $('refresh-now').addEventListener('click', refresh);
  $('search-form').addEventListener('submit', (e) => {
    e.preventDefault();
    location.hash = '#/search/' + encodeURIComponent($('search-q').value.trim());
  });
  window.addEventListener('hashchange', applyRoute);
  const main = $('clusters');
  main.addEventListener('click', (e) => {
    const t = e.target.closest('[data-toggle]');
    if (t) {
      const name = t.dataset.toggle;
      if (isExpanded(name)) { S.shut.add(name); S.open.delete(name); } else { S.open.add(name); S.shut.delete(name); }
      renderClusters();
      const s = shown.get(name);
      if (s) { const b = s.el.querySelector('[data-toggle]'); if (b) b.focus(); }
      return;
    }
    if (suppressClick || e.target.closest('a, button:not([data-drag])')) return;
    const card = e.target.closest('[data-instance]');
    if (card) location.hash = `#/cluster/${encodeURIComponent(card.dataset.cluster)}/${encodeURIComponent(card.dataset.instance)}`;
  });
  main.addEventListener('keydown', (e) => {
    const card = e.target.matches && e.target.matches('[data-instance]') ? e.target : null;
    if (card && (e.key === 'Enter' || e.key === ' ')) {
      e.preventDefault();
      location.hash = `#/cluster/${encodeURIComponent(card.dataset.cluster)}/${encodeURIComponent(card.dataset.instance)}`;
    }
  });
  document.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape') return;
    if (drag) { cancelDrag(); return; }
    if (S.route.page === 'cluster' && S.route.inst && !$('confirm').open) location.hash = '#/cluster/' + encodeURIComponent(S.route.cluster);
  });
  main.addEventListener('pointerdown', onPointerDown);
  document.addEventListener('pointermove', onPointerMove);
  document.addEventListener('pointerup', onPointerUp);
  document.addEventListener('pointercancel', cancelDrag);
  setInterval(showStatus, 1000);
  applyRoute();
  refresh();
})();
