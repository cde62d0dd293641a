/* orchestrator web UI: the pages beside the clusters (recoveries with Acknowledge, failure
 * detections, audit, the manager cluster, search, the discover form). Loaded before app.js,
 * which calls orcPages() with its helpers and draws what these return (lists of DOM nodes, every
 * server value as text). */
'use strict';
window.orcPages = ({h, getJSON, keyOf, canWrite, act, seg, S}) => {
  const $ = (id) => document.getElementById(id);

  function table(cols, rows, empty) {
    if (!rows.length) return h('p', {class: 'muted empty', text: empty});
    return h('table', {class: 'grid'}, h('thead', null, h('tr', null, cols.map((c) => h('th', {scope: 'col', text: c})))),
      h('tbody', null, rows.map((r) => h('tr', r.attrs || null, r.cells.map((c) => h('td', null, c))))));
  }
  const instLink = (k) => (k && S.byKey.get(k)
    ? h('a', {href: `#/cluster/${encodeURIComponent(S.byKey.get(k).ClusterName)}/${encodeURIComponent(k)}`, text: k}) : k || '');
  const clusterLink = (c) => (c ? h('a', {href: '#/cluster/' + encodeURIComponent(c), text: c}) : '');
  const when = (t) => (t ? t.replace('T', ' ').replace(/Z$/, ' UTC') : '');

  async function pageRecoveries() {
    const list = (await getJSON('api/audit-recovery')) || [];
    return [h('h2', {text: 'Recoveries'}),
      table(['Id', 'Cluster', 'Analysis', 'Failed instance', 'Successor', 'Started', 'Ended', 'Result', 'Acknowledged', ''],
        list.map((r) => {
          const ae = r.AnalysisEntry || {}, cd = ae.ClusterDetails || {};
          const fk = keyOf(ae.AnalyzedInstanceKey), sk = keyOf(r.SuccessorKey);
          const ack = r.Acknowledged ? `${r.AcknowledgedBy || ''}${r.AcknowledgedComment ? ': ' + r.AcknowledgedComment : ''}` : 'no';
          const btn = !r.Acknowledged && canWrite() ? h('button', {type: 'button', data: {action: 'ack-recovery', uid: r.UID}, text: 'Acknowledge',
            onclick: () => act({id: 'ack-recovery', label: 'Acknowledge', target: `recovery ${r.Id} (${ae.Analysis} on ${fk})`,
              text: `Acknowledge recovery ${r.Id} of ${cd.ClusterName}: it no longer blocks new recoveries of this cluster.`,
              rel: (v) => `ack-recovery/uid/${seg(r.UID)}?comment=${encodeURIComponent(v.comment)}`,
              fields: [{name: 'comment', label: 'Comment', value: 'acknowledged from the web UI', required: true}]})}) : null;
          return {attrs: {data: {recovery: r.UID || String(r.Id), acknowledged: String(!!r.Acknowledged)}},
            cells: [String(r.Id), clusterLink(cd.ClusterName), ae.Analysis || '', instLink(fk), instLink(sk), when(r.RecoveryStartTimestamp),
              when(r.RecoveryEndTimestamp), !r.RecoveryEndTimestamp ? 'running' : r.IsSuccessful ? 'successful' : 'failed' +
              (r.AllErrors && r.AllErrors.length ? ': ' + r.AllErrors.join('; ') : ''), ack, btn]};
        }), 'No recoveries recorded.')];
  }

  async function pageDetections() {
    const list = (await getJSON('api/audit-failure-detection')) || [];
    return [h('h2', {text: 'Failure detections'}),
      table(['Id', 'Cluster', 'Analysis', 'Instance', 'Replicas', 'Actionable', 'Detected', 'Node'], list.map((d) => {
        const ae = d.AnalysisEntry || {}, cd = ae.ClusterDetails || {};
        return {cells: [String(d.Id), clusterLink(cd.ClusterName), ae.Analysis || '', instLink(keyOf(ae.AnalyzedInstanceKey)),
          String(ae.CountReplicas || 0), ae.IsActionableRecovery ? 'yes' : 'no', when(d.RecoveryStartTimestamp), d.ProcessingNodeHostname || '']};
      }), 'No failure detected.')];
  }

  async function pageAudit() {
    const pg = S.route.arg ? Math.max(0, +S.route.arg || 0) : 0;
    const list = (await getJSON(pg ? 'api/audit/' + pg : 'api/audit')) || [];
    return [h('h2', {text: 'Audit'}),
      table(['Time', 'Type', 'Instance', 'Message'], list.map((a) => ({cells: [when(a.AuditTimestamp), a.AuditType || '',
        instLink(keyOf(a.AuditInstanceKey)), a.Message || '']})), 'No audit entries.'),
      h('p', {class: 'pager'}, pg > 0 ? h('a', {href: '#/audit/' + (pg - 1), text: '\u2190 newer'}) : null, ' ',
        list.length ? h('a', {href: '#/audit/' + (pg + 1), text: 'older \u2192'}) : null)];
  }

  async function pageManager() {
    const [health, raft] = await Promise.all([getJSON('api/status').catch((e) => ({err: e.message})),
      getJSON('api/raft-status').catch((e) => ({err: e.message}))]);
    const d = health.Details || health || {};
    const mismatch = Array.isArray(d.ConfigMismatch) && d.ConfigMismatch.length ? d.ConfigMismatch.join(', ') : '';
    const out = [h('h2', {text: 'Manager cluster'}),
      h('dl', {class: 'facts'},
        h('dt', {text: 'This node'}), h('dd', {text: d.Hostname || '?'}),
        h('dt', {text: 'Healthy'}), h('dd', {class: d.Healthy === false ? 't-bad' : 't-ok', text: health.err ? health.err : d.Healthy === false ? 'no' + (d.Error ? ': ' + d.Error : '') : 'yes'}),
        h('dt', {text: 'Leader'}), h('dd', {text: d.RaftLeader || (d.IsActiveNode ? 'this node' : '?')}),
        h('dt', {text: 'Leader URI'}), h('dd', {text: d.RaftLeaderURI || ''}),
        h('dt', {text: 'Config'}), h('dd', {class: mismatch ? 't-bad' : null,
          text: mismatch ? 'recovery settings differ on ' + mismatch : d.ConfigFingerprint ? 'fingerprint ' + d.ConfigFingerprint : ''}))];
    if (raft.err) out.push(h('p', {class: 'muted', text: 'Raft: ' + raft.err + ' (a single manager node).'}));
    else {
      /* Only the leader knows which members it reaches; a follower links to it. */
      const lead = raft.State === 'Leader';
      const healthy = new Set(raft.HealthyMembers || d.RaftHealthyMembers || []);
      const kind = new Map((raft.Members || []).map((m) => [m.Address, m.Role]));
      out.push(h('h3', {text: 'Raft members'}), table(['Member', 'Role', 'Raft role', lead ? 'Reached by the leader' : 'Health'],
        (raft.Peers || []).map((p) => ({
          attrs: {data: {member: p}},
          cells: [p, (p === raft.Leader ? 'leader' : 'follower') + (p === raft.RaftAdvertise ? ' (this node)' : ''), kind.get(p) || '',
            lead ? (healthy.has(p) ? 'yes' : 'no') : 'known to the leader']})), 'No members.'),
      h('p', {class: 'muted'}, `This node: ${raft.State || '?'}, ${raft.IsPartOfQuorum ? 'part of the quorum' : 'not in the quorum'}, term ${raft.Term}, ` +
        `commit index ${raft.CommitIndex}, applied ${raft.LastApplied}. `,
      !lead && /^https?:\/\//.test(raft.LeaderURI || '') ? h('a', {href: raft.LeaderURI + '/#/manager', text: 'The leader\u2019s view'}) : null));
    }
    const kv = d.KVStores || [];
    out.push(h('h3', {text: 'KV publishing'}), table(['Store', 'Healthy', 'Last success', 'Error'], kv.map((s) => ({
      cells: [s.Store || '', s.Healthy ? 'yes' : s.Checked === false ? 'not checked yet' : 'no', when(s.LastSuccess || ''), s.Error || '']})),
    'No KV store configured.'));
    return out;
  }

  async function pageSearch() {
    const text = S.route.arg || '';
    $('search-q').value = text;
    if (!text) return [h('h2', {text: 'Search'}), h('p', {class: 'muted', text: 'Type in the search box.'})];
    const list = (await getJSON('api/search?s=' + encodeURIComponent(text))) || [];
    return [h('h2', {text: `Search: ${text}`}),
      table(['Instance', 'Cluster', 'Master', 'Version'], list.map((i) => ({cells: [instLink(keyOf(i.Key)) || keyOf(i.Key),
        clusterLink(i.ClusterName), keyOf(i.MasterKey), i.Version || '']})), 'No instance matches.')];
  }

  function pageDiscover() {
    const host = h('input', {id: 'discover-host', name: 'host', required: true, autocomplete: 'off', placeholder: 'db1.example.com'});
    const port = h('input', {id: 'discover-port', name: 'port', required: true, inputmode: 'numeric', value: '3306', pattern: '[0-9]+'});
    const form = h('form', {id: 'discover-form', class: 'form'},
      h('p', {class: 'field'}, h('label', {for: 'discover-host', text: 'Host'}), host),
      h('p', {class: 'field'}, h('label', {for: 'discover-port', text: 'Port'}), port),
      h('p', null, h('button', {type: 'submit', class: 'primary', text: 'Discover'})));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const k = host.value.trim() + ':' + port.value.trim();
      act({id: 'discover', label: 'Discover', target: k, text: `Probe ${k} and add it, its master and its replicas to the topology.`,
        rel: () => `discover/${seg(host.value.trim())}/${seg(port.value.trim())}`});
    });
    return [h('h2', {text: 'Discover an instance'}), canWrite() ? form : h('p', {class: 'muted', text: 'Read-only access: discovering needs write rights.'})];
  }

  return {recoveries: pageRecoveries, detections: pageDetections, audit: pageAudit, manager: pageManager,
    search: pageSearch, discover: pageDiscover};
};
