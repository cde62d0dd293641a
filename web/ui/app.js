/* orchestrator web UI: polls the HTTP API (clusters-info, cluster/<name>,
 * replication-analysis) and draws each cluster as a tree of instance cards.
 * Query parameters: ?refresh=N seconds between polls (0 = manual only),
 * ?lag=N seconds above which replication lag counts as a problem.
 * Every card carries data-instance, data-master, data-state (ok|problem|dead),
 * data-role and data-downtimed for tests and scripts. */
'use strict';
(() => {
  const q = new URLSearchParams(location.search);
  const num = (v, d) => (v !== null && v !== '' && isFinite(v) && +v >= 0 ? +v : d);
  const REFRESH = num(q.get('refresh'), 5);
  const LAG = num(q.get('lag'), 10);
  const TIMEOUT_MS = 10000;
  /* API base: the page's folder, minus a trailing "web/" (UI at /, /web/ or
   * <URLPrefix>/web/...), so every request stays relative to where we are. */
  const path = location.pathname;
  const w = path.lastIndexOf('/web/');
  const BASE = w >= 0 ? path.slice(0, w + 1) : path.replace(/[^/]*$/, '');
  const $ = (id) => document.getElementById(id);
  const shown = new Map(); /* cluster name -> {el, html} */
  let lastOk = 0, timer = 0, busy = false, refreshes = 0;

  const esc = (s) => String(s === undefined || s === null ? '' : s).replace(/[&<>"']/g,
    (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'})[c]);
  const keyOf = (k) => (k && k.Hostname ? k.Hostname + ':' + k.Port : '');
  const validKey = (k) => !!(k && k.Hostname && k.Hostname !== '_' &&
    !k.Hostname.startsWith('//') && k.Port > 0);
  const cmpText = (a, b) => a.localeCompare(b, undefined, {numeric: true});
  const clock = (t) => new Date(t).toLocaleTimeString([], {hour12: false});

  async function getJSON(rel) {
    const ctl = new AbortController();
    const t = setTimeout(() => ctl.abort(), TIMEOUT_MS);
    try {
      const r = await fetch(BASE + rel, {signal: ctl.signal, cache: 'no-store',
        credentials: 'same-origin', headers: {Accept: 'application/json'}});
      const body = await r.text();
      let data;
      try { data = JSON.parse(body); } catch (e) { data = undefined; }
      const envErr = data && !Array.isArray(data) && data.Code === 'ERROR';
      if (!r.ok || envErr) {
        const msg = data && data.Message ? data.Message : body.slice(0, 160);
        const e = new Error('HTTP ' + r.status + ' from ' + rel + (msg ? ': ' + msg : ''));
        e.status = r.status;
        throw e;
      }
      if (data === undefined) throw new Error('invalid JSON from ' + rel);
      return data;
    } catch (e) {
      if (e.name === 'AbortError') throw new Error('timeout fetching ' + rel);
      throw e;
    } finally {
      clearTimeout(t);
    }
  }

  const THREAD = {'-1': 'no thread', 0: 'stopped', 1: 'running', 2: 'other'};
  const LABEL = {
    last_check_invalid: 'last check failed', not_recently_checked: 'not recently checked',
    not_replicating: 'not replicating', replication_lag: 'replication lag',
    errant_gtid: 'errant GTID', group_replication_member_not_online: 'group member offline',
  };
  /* Thread state -1 no thread, 0 stopped, 1 running, 2 other; from the booleans if absent. */
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
    const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
    return d ? d + 'd ' + h + 'h' : h ? h + 'h ' + m + 'm' : m + 'm';
  };

  /* Health of one instance: state ok|problem|dead and the reasons, as text. */
  function assess(i, findings) {
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

  /* Tree: replicas nest under their master (by MasterKey). Instances whose master
   * is not in the cluster are roots; cycles (co-masters) are cut at a writable
   * member so every instance appears exactly once. */
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
    /* Display order: real masters, then co-master rings, then orphans. */
    const cat = (n) => (n.cycle ? 1 : validKey(n.i.MasterKey) ? 2 : 0);
    forest.sort((a, b) => cat(a) - cat(b));
    return {forest, by};
  }

  function threadHTML(name, st) {
    const cls = st === 1 ? 'ok' : st === 0 ? 'bad' : st === -1 ? 'muted' : 'warn';
    const txt = THREAD[st] || 'unknown';
    return `<span class="thr"><abbr title="${name} thread">${name}</abbr> <b class="t-${cls}">${txt}</b></span>`;
  }

  function cardHTML(node, by, findings) {
    const i = node.i, k = keyOf(i.Key);
    const a = assess(i, findings.get(k) || []);
    const mk = validKey(i.MasterKey) ? keyOf(i.MasterKey) : '';
    const role = mk && !by.has(mk) ? 'orphan' : i.IsCoMaster || (node.cycle && mk) ? 'co-master'
      : !mk ? 'master' : node.kids.length ? 'intermediate' : 'replica';
    const roleText = {orphan: 'replica', intermediate: 'intermediate master'}[role] || role;
    const stText = {ok: 'OK', problem: 'PROBLEM', dead: 'DEAD'}[a.state];
    const dt = !!i.IsDowntimed;
    const ver = i.FlavorName && !String(i.Version || '').includes(i.FlavorName)
      ? [i.FlavorName, i.Version].filter(Boolean).join(' ') : i.Version || i.FlavorName;
    const bits = [];
    bits.push(`<span class="badge ${i.ReadOnly ? 'ro' : 'rw'}">${i.ReadOnly ? 'read_only' : 'writable'}</span>`);
    if (i.DataCenter) bits.push(`<span class="dc" title="data center">${esc(i.DataCenter)}</span>`);
    if (i.Uptime) bits.push(`<span title="uptime">up ${uptime(i.Uptime)}</span>`);
    let repl = '';
    if (a.isReplica || thr(i, 'SQL') > -1 || thr(i, 'IO') > -1) {
      const lagTxt = a.lag === null ? '\u2014' : a.lag + 's';
      const lagCls = a.lag === null ? 'muted' : a.lag > LAG ? 'bad' : 'ok';
      repl = `<p class="repl">${threadHTML('IO', thr(i, 'IO'))}${threadHTML('SQL', thr(i, 'SQL'))}` +
        `<span class="thr">lag <b class="t-${lagCls}" data-lag="${a.lag === null ? '' : a.lag}">${lagTxt}</b></span></p>`;
    }
    let notes = '';
    if (mk && (role === 'orphan' || node.cycle)) {
      notes += `<p class="note">${role === 'orphan' ? 'master not known' : 'replicates from'}: ${esc(mk)}</p>`;
    }
    if (i.InstanceAlias && i.InstanceAlias !== k) notes += `<p class="note">alias ${esc(i.InstanceAlias)}</p>`;
    if (dt) {
      const who = [i.DowntimeOwner, i.DowntimeReason].filter(Boolean).map(esc).join(': ');
      notes += `<p class="note dtn">downtimed${who ? ' \u2014 ' + who : ''}${i.DowntimeEndTimestamp ? ' until ' + esc(i.DowntimeEndTimestamp) : ''}</p>`;
    }
    const issues = a.reasons.length
      ? `<ul class="issues" aria-label="problems">${a.reasons.map((r) => `<li>${esc(r)}</li>`).join('')}</ul>` : '';
    const errs = [['SQL', i.LastSQLError], ['IO', i.LastIOError]].filter((e) => e[1])
      .map((e) => `<p class="err" title="${esc(e[1])}"><b>${e[0]} error:</b> ${esc(e[1])}</p>`).join('');
    const check = i.IsLastCheckValid === false ? 'check failed' : 'check ok';
    const label = `${k}, ${roleText}, ${stText}${a.reasons.length ? ': ' + a.reasons.join(', ') : ''}`;
    return `<article class="inst st-${a.state}${dt ? ' dt' : ''}" data-instance="${esc(k)}" data-master="${esc(mk)}"` +
      ` data-state="${a.state}" data-role="${role}" data-downtimed="${dt}" aria-label="${esc(label)}">` +
      `<header><h3 class="key" title="${esc(k)}">${esc(k)}</h3><span class="chip st-${a.state}">${stText}</span>` +
      `</header><p class="role">${roleText} \u00b7 <span class="${i.IsLastCheckValid === false ? 't-bad' : 'muted'}">${check}</span>` +
      `${dt ? ' <span class="chip dt">DOWNTIMED</span>' : ''}</p>` +
      `<p class="ver" title="${esc(ver)}">${esc(ver || 'version unknown')}</p>` +
      `<p class="meta">${bits.join('')}</p>${repl}${notes}${issues}${errs}</article>`;
  }

  function nodeHTML(node, by, findings) {
    const sub = node.kids.length
      ? `<ul class="kids" aria-label="replicas of ${esc(keyOf(node.i.Key))}">${node.kids.map((c) => nodeHTML(c, by, findings)).join('')}</ul>` : '';
    return `<li class="node">${cardHTML(node, by, findings)}${sub}</li>`;
  }

  function clusterHTML(ci, insts, err, findings, clusterFindings) {
    const name = ci.ClusterName, alias = ci.ClusterAlias && ci.ClusterAlias !== name ? ci.ClusterAlias : '';
    const count = insts ? insts.length : ci.CountInstances;
    const flags = clusterFindings.map((f) => `<span class="chip st-problem" title="replication analysis">${esc(f)}</span>`);
    if (ci.HasAutomatedMasterRecovery) flags.push('<span class="chip auto" title="automated master recovery enabled">auto-recovery</span>');
    let body;
    if (err) body = `<p class="err">Could not load instances: ${esc(err)}</p>`;
    else if (!insts.length) body = '<p class="muted">No instances.</p>';
    else {
      const {forest, by} = buildForest(insts);
      body = `<ul class="tree">${forest.map((n) => nodeHTML(n, by, findings)).join('')}</ul>`;
    }
    const bad = insts ? insts.filter((i) => assess(i, findings.get(keyOf(i.Key)) || []).state !== 'ok').length : 0;
    return `<header><h2>${esc(alias || name)}</h2>${alias ? `<span class="cname">${esc(name)}</span>` : ''}` +
      `<span class="count">${count} instance${count === 1 ? '' : 's'}</span>` +
      `${bad ? `<span class="count t-bad">${bad} with problems</span>` : ''}${flags.join('')}</header>` +
      `<div class="scroll">${body}</div>`;
  }

  /* Findings from replication-analysis, keyed by instance and by cluster.
   * The route may not exist yet, or fail: then there are simply no findings. */
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

  function render(clusters, results, findings) {
    const main = $('clusters');
    const keep = new Set();
    let total = 0, bad = 0;
    clusters.forEach((ci, n) => {
      const r = results[n];
      const html = clusterHTML(ci, r.insts, r.err, findings.byInst, findings.byCluster.get(ci.ClusterName) || []);
      keep.add(ci.ClusterName);
      if (r.insts) {
        total += r.insts.length;
        bad += r.insts.filter((i) => assess(i, findings.byInst.get(keyOf(i.Key)) || []).state !== 'ok').length;
      }
      let s = shown.get(ci.ClusterName);
      if (!s) {
        s = {el: document.createElement('section'), html: ''};
        s.el.className = 'cluster';
        s.el.dataset.cluster = ci.ClusterName;
        shown.set(ci.ClusterName, s);
      }
      if (s.html !== html) { s.el.innerHTML = html; s.html = html; }
      s.el.classList.toggle('has-problem', /data-state="(problem|dead)"/.test(html));
      if (main.children[n] !== s.el) main.insertBefore(s.el, main.children[n] || null);
    });
    for (const [name, s] of shown) if (!keep.has(name)) { s.el.remove(); shown.delete(name); }
    let empty = $('empty');
    if (!clusters.length && !empty) {
      empty = document.createElement('p');
      empty.id = 'empty';
      empty.className = 'empty';
      empty.textContent = 'No clusters known yet. Discover an instance, e.g. orchestrator -c discover -i host:port';
      main.appendChild(empty);
    } else if (clusters.length && empty) empty.remove();
    $('summary').textContent = `${clusters.length} cluster${clusters.length === 1 ? '' : 's'} \u00b7 ` +
      `${total} instance${total === 1 ? '' : 's'}${bad ? ` \u00b7 ${bad} with problems` : ''}`;
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
    $('clusters').classList.toggle('stale', !!e);
    if (!e) { b.hidden = true; b.textContent = ''; return; }
    b.textContent = `Cannot reach the orchestrator API: ${e.message || e}. ` +
      (lastOk ? `Showing data from ${clock(lastOk)}; ` : '') + (REFRESH > 0 ? `retrying every ${REFRESH} s.` : 'press Refresh now to retry.');
    b.hidden = false;
  }

  async function refresh() {
    if (busy) return;
    busy = true;
    clearTimeout(timer);
    try {
      /* Go encodes an empty list as null: read null as []. */
      const [clusters, analysis] = await Promise.all([
        getJSON('api/clusters-info').then((c) => c || []),
        getJSON('api/replication-analysis').catch(() => null),
      ]);
      if (!Array.isArray(clusters)) throw new Error('api/clusters-info did not return a list');
      clusters.sort((a, b) => cmpText(a.ClusterAlias || a.ClusterName, b.ClusterAlias || b.ClusterName));
      const results = await Promise.all(clusters.map((c) =>
        getJSON('api/cluster/' + encodeURIComponent(c.ClusterName).replace(/%3A/gi, ':'))
          .then((insts) => (insts === null ? {insts: []} : Array.isArray(insts) ? {insts} : {err: 'not a list of instances'}))
          .catch((e) => ({err: e.message}))));
      render(clusters, results, indexFindings(analysis));
      lastOk = Date.now();
      refreshes++;
      document.body.dataset.refreshes = refreshes;
      document.body.dataset.updated = lastOk;
      showError(null);
    } catch (e) {
      showError(e);
    } finally {
      busy = false;
      $('clusters').setAttribute('aria-busy', 'false');
      showStatus();
      if (REFRESH > 0) timer = setTimeout(refresh, REFRESH * 1000);
    }
  }

  $('refresh-now').addEventListener('click', refresh);
  setInterval(showStatus, 1000);
  refresh();
})();
