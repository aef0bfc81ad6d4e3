// The Worka operator console: plain JavaScript, no dependencies, served by the Gateway.
// Rules kept here: data from the Gateway is only ever put in the page as text (text nodes and
// textContent, never parsed as markup); the operator token is sent once to sign in and kept nowhere (no storage, no
// variable after the request); every change carries the session's CSRF token, held in memory.
'use strict';

(() => {
  const API = '/console/api';
  let csrf = null; // the session's CSRF token (memory only)
  let traceLink = null; // e.g. https://langfuse.example/trace/{trace_id}
  let stop = () => {}; // stops the current view's live updates

  const $ = (id) => document.getElementById(id);

  /** An element with attributes and children; strings become text nodes. */
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  const svg = (tag, attrs) => {
    const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    return e;
  };

  const status = (s) => el('span', { class: 'status ' + String(s || '').replace(/[^a-z_]/g, '') }, s || '—');
  const when = (t) => (t ? new Date(t).toLocaleString() : '—');
  const json = (v) => el('pre', {}, v === null || v === undefined ? '—' : JSON.stringify(v, null, 2));
  const short = (s, n) => (s && s.length > n ? s.slice(0, n) + '…' : s || '');

  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.message) || 'HTTP ' + status);
      this.status = status;
      this.code = (body && body.error) || null;
    }
  }

  async function api(method, path, body) {
    const headers = { Accept: 'application/json' };
    if (method !== 'GET') headers['X-Worka-CSRF'] = csrf || '';
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const r = await fetch(API + path, {
      method,
      headers,
      credentials: 'same-origin',
      cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    const data = text && (r.headers.get('Content-Type') || '').startsWith('application/json')
      ? JSON.parse(text) : null;
    if (r.status === 401 && path !== '/session') {
      signedOut('Your session ended: sign in again.');
    }
    if (!r.ok) throw new ApiError(r.status, data);
    return data;
  }

  function show(message) {
    $('message').textContent = message || '';
  }

  function signedOut(message) {
    stop();
    csrf = null;
    $('nav').hidden = true;
    $('view').hidden = true;
    $('sign-in').hidden = false;
    $('sign-in-error').textContent = message || '';
    $('token').focus();
  }

  function signedIn(session) {
    csrf = session.csrf_token;
    traceLink = session.trace_link;
    $('sign-in').hidden = true;
    $('nav').hidden = false;
    $('view').hidden = false;
    route();
  }

  async function signIn(event) {
    event.preventDefault();
    const input = $('token');
    const token = input.value;
    input.value = '';
    $('sign-in-error').textContent = '';
    try {
      signedIn(await api('POST', '/session', { token }));
    } catch (e) {
      $('sign-in-error').textContent = e.message;
    }
  }

  async function signOut() {
    try {
      await api('DELETE', '/session');
    } catch (e) {
      show(e.message);
    }
    signedOut('Signed out.');
  }

  // ---- views ---------------------------------------------------------------------------------

  function route() {
    stop();
    stop = () => {};
    show('');
    const hash = location.hash || '#/runs';
    const view = $('view');
    view.replaceChildren();
    let m;
    if ((m = hash.match(/^#\/runs\/([0-9a-fA-F-]{36})$/))) runPage(view, m[1]);
    else if ((m = hash.match(/^#\/approvals(?:\?run=([0-9a-fA-F-]{36}))?$/))) approvalsPage(view, m[1] || null);
    else if (hash === '#/policy') policyPage(view);
    else if (hash === '#/skills') skillsPage(view);
    else if (hash === '#/audit') auditPage(view);
    else runsPage(view);
  }

  /** Calls load now and every ms until the view changes. */
  function every(ms, load) {
    let timer = null;
    let live = true;
    const tick = async () => {
      try {
        await load();
      } catch (e) {
        show(e.message);
      }
      if (live) timer = setTimeout(tick, ms);
    };
    tick();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }

  function runsPage(view) {
    const statusFilter = el('select', { id: 'filter-status' },
      ['', 'received', 'planning', 'running', 'delivering', 'succeeded', 'failed', 'cancelled']
        .map((s) => el('option', { value: s }, s || 'any')));
    const sourceFilter = el('select', { id: 'filter-source' },
      ['', 'api', 'cli', 'slack', 'github'].map((s) => el('option', { value: s }, s || 'any')));
    const requesterFilter = el('input', { id: 'filter-requester', placeholder: 'requester' });
    const rows = el('tbody', { id: 'runs' });
    const text = el('input', { id: 'new-run-text', placeholder: 'Start a run: what should be done?' });
    const form = el('form', { id: 'new-run' }, text, el('button', { type: 'submit' }, 'Start run'));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        const run = await api('POST', '/v1/runs', { text: text.value });
        location.hash = '#/runs/' + run.run_id;
      } catch (err) {
        show(err.message);
      }
    });
    view.append(
      el('h1', {}, 'Runs'),
      form,
      el('div', { class: 'filters' },
        el('label', {}, 'status', statusFilter),
        el('label', {}, 'source', sourceFilter),
        el('label', {}, 'requester', requesterFilter),
        el('span', { class: 'muted' }, 'updates every 2 s')),
      el('table', {},
        el('thead', {}, el('tr', {}, ['created', 'status', 'source', 'requester', 'request']
          .map((h) => el('th', {}, h)))),
        rows));
    const load = async () => {
      const q = statusFilter.value ? '&status=' + encodeURIComponent(statusFilter.value) : '';
      const data = await api('GET', '/v1/runs?limit=200' + q);
      const who = requesterFilter.value.trim().toLowerCase();
      const runs = data.runs.filter((r) =>
        (!sourceFilter.value || r.source === sourceFilter.value) &&
        (!who || String(r.requester || '').toLowerCase().includes(who)));
      rows.replaceChildren(...runs.map((r) => el('tr', { class: 'run-row', 'data-run-id': r.run_id },
        el('td', {}, when(r.created_at)),
        el('td', {}, status(r.status)),
        el('td', {}, r.source),
        el('td', {}, r.requester || '—'),
        el('td', { class: 'text' }, el('a', { href: '#/runs/' + r.run_id }, short(r.text, 160))))));
      if (runs.length === 0) rows.append(el('tr', {}, el('td', { colspan: 5, class: 'muted' }, 'no runs')));
    };
    [statusFilter, sourceFilter].forEach((f) => f.addEventListener('change', () => load().catch((e) => show(e.message))));
    requesterFilter.addEventListener('input', () => load().catch((e) => show(e.message)));
    stop = every(2000, load);
  }

  function runPage(view, id) {
    const head = el('div', {});
    const body = el('div', {});
    const events = el('ol', { id: 'events' });
    view.append(el('p', {}, el('a', { href: '#/runs' }, '← runs')), head, body,
      el('h2', {}, 'Events (live)'), events);
    let pending = null;
    let closed = false;
    const load = async () => {
      const story = await api('GET', '/v1/runs/' + id);
      if (!closed) renderRun(head, body, story);
    };
    const soon = () => {
      clearTimeout(pending);
      pending = setTimeout(() => load().catch((e) => show(e.message)), 250);
    };
    load().catch((e) => show(e.message));
    const source = new EventSource(API + '/v1/runs/' + id + '/events');
    source.addEventListener('transition', (m) => {
      const e = JSON.parse(m.data);
      events.append(el('li', {}, when(e.at) + '  ' + e.entity + (e.step_ref ? ' ' + e.step_ref : '') +
        ': ' + (e.from || '∅') + ' → ' + e.to + (e.detail ? '  (' + e.detail + ')' : '')));
      soon();
    });
    source.addEventListener('end', () => {
      source.close();
      soon();
    });
    source.onerror = () => source.close();
    stop = () => {
      closed = true;
      clearTimeout(pending);
      source.close();
    };
  }

  function renderRun(head, body, run) {
    const terminal = ['succeeded', 'failed', 'cancelled'].includes(run.status);
    const facts = el('dl', { class: 'facts' });
    const fact = (k, v) => facts.append(el('dt', {}, k), el('dd', {}, v));
    fact('status', el('span', { id: 'run-status', 'data-status': run.status }, status(run.status)));
    fact('request', el('span', { id: 'run-text' }, run.text));
    fact('source', run.source + (run.requester ? ' · ' + run.requester : ''));
    fact('created', when(run.created_at));
    fact('completed', when(run.completed_at));
    fact('policy', run.policy_manifest ? 'version ' + run.policy_manifest.version + ' · ' +
      short(run.policy_manifest.sha256, 16) : '—');
    if (run.trace_id) {
      const link = traceLink ? traceLink.replace('{trace_id}', encodeURIComponent(run.trace_id)) : null;
      fact('trace', link && /^https?:\/\//.test(link)
        ? el('a', { href: link, rel: 'noopener noreferrer', target: '_blank', id: 'trace-link' }, run.trace_id)
        : run.trace_id);
    }
    const waiting = (run.steps || []).filter((s) => s.status === 'awaiting_approval').length;
    fact('approvals', el('a', { id: 'run-approvals', href: '#/approvals?run=' + run.run_id,
      class: waiting ? 'status awaiting_approval' : null },
    waiting ? waiting + (waiting === 1 ? ' step awaits' : ' steps await') + ' approval: open the inbox'
      : 'this run\'s approvals'));
    if (run.error) fact('error', el('span', { class: 'error' }, run.error));
    if (run.result && run.result.summary) fact('result', run.result.summary);
    const actions = el('p', {});
    if (!terminal) {
      actions.append(el('button', {
        id: 'cancel-run', type: 'button',
        onclick: async () => {
          try {
            await api('POST', '/v1/runs/' + run.run_id + '/cancel', { reason: 'cancelled in the console' });
          } catch (e) {
            show(e.message);
          }
        },
      }, 'Cancel run'));
    }
    head.replaceChildren(el('h1', {}, 'Run ', el('code', {}, run.run_id)), facts, actions);

    const steps = run.steps || [];
    body.replaceChildren(
      el('h2', {}, 'Plan'),
      planGraph(run),
      el('h2', {}, 'Steps'),
      timeline(run),
      table(['step', 'agent', 'status', 'attempt', 'skills', 'objective', 'summary / error'],
        steps.map((s) => [s.step_ref, s.agent, status(s.status), String(s.attempt),
          (s.skills || []).join(', '), s.objective || '', s.error ? el('span', { class: 'error' }, s.error) : (s.summary || '')]),
        'step-row'),
      el('h2', {}, 'Gates'),
      table(['chain #', 'action', 'status', 'subject', 'step', 'attempt', 'skill', 'reason', 'at'],
        (run.gates || []).map((g) => [String(g.chain_index ?? ''), g.action, status(g.status), g.subject,
          g.step_ref || '', g.attempt === null || g.attempt === undefined ? '' : String(g.attempt),
          g.skill || '', g.reason, when(g.at)]),
        'gate-row'),
      el('h2', {}, 'Burns'),
      (run.burns || []).length === 0 ? el('p', { class: 'muted' }, 'none') :
        table(['kind', 'step', 'agent', 'attempt', 'reason', 'diagnostics'],
          run.burns.map((b) => [b.kind, b.step_ref || '', b.agent || '', String(b.attempt ?? ''), b.reason, json(b.diagnostics)]),
          'burn-row'),
      el('h2', {}, 'Skill invocations'),
      (run.skill_invocations || []).length === 0 ? el('p', { class: 'muted' }, 'none') :
        table(['skill', 'step', 'status', 'lock', 'lock events', 'dry run', 'input', 'output / error'],
          run.skill_invocations.map((i) => [i.skill, i.step_ref || '', status(i.status), i.lock_status || '',
            (i.lock_events || []).join(' → '), i.dry_run ? 'yes' : 'no', json(i.input),
            i.error ? el('span', { class: 'error' }, i.error) : json(i.output)]),
          'invocation-row'),
      el('h2', {}, 'Model usage'),
      modelUsage(run.model_usage),
      el('h2', {}, 'Result'),
      json(run.result));
  }

  function table(headers, rows, rowClass) {
    return el('table', {},
      el('thead', {}, el('tr', {}, headers.map((h) => el('th', {}, h)))),
      el('tbody', {}, rows.map((cells) => el('tr', { class: rowClass }, cells.map((c) => el('td', {}, c))))));
  }

  function modelUsage(u) {
    if (!u || !u.calls || u.calls.length === 0) return el('p', { class: 'muted' }, 'no model calls through the Gateway');
    return el('div', {},
      el('p', {}, u.total_tokens + ' tokens (' + u.input_tokens + ' in, ' + u.output_tokens + ' out)' +
        (u.budget_tokens ? ' of a budget of ' + u.budget_tokens : '')),
      table(['step', 'attempt', 'model', 'upstream', 'in', 'out', 'at'],
        u.calls.map((c) => [c.step_ref || '', String(c.attempt), c.model || '', String(c.upstream_status ?? ''),
          String(c.input_tokens), String(c.output_tokens), when(c.at)])));
  }

  /** The plan's steps in columns by depth, edges from each dependency (SVG built node by node). */
  function planGraph(run) {
    const planned = (run.plan && Array.isArray(run.plan.steps)) ? run.plan.steps : [];
    const statusOf = {};
    (run.steps || []).forEach((s) => { statusOf[s.step_ref] = s.status; });
    if (planned.length === 0) {
      return el('p', { class: 'muted' }, run.plan ? 'plan ' + run.plan.status + ': no steps' : 'no plan yet');
    }
    const ids = planned.map((s) => s.step_ref);
    const deps = {};
    planned.forEach((s) => { deps[s.step_ref] = (s.depends_on || []).filter((d) => ids.includes(d)); });
    const depth = {};
    const depthOf = (id, seen) => {
      if (depth[id] !== undefined) return depth[id];
      if (seen.has(id)) return 0;
      seen.add(id);
      depth[id] = deps[id].length === 0 ? 0 : 1 + Math.max(...deps[id].map((d) => depthOf(d, seen)));
      return depth[id];
    };
    ids.forEach((id) => depthOf(id, new Set()));
    const columns = [];
    ids.forEach((id) => { (columns[depth[id]] = columns[depth[id]] || []).push(id); });
    const W = 190, H = 54, GX = 60, GY = 18;
    const pos = {};
    columns.forEach((col, x) => col.forEach((id, y) => { pos[id] = { x: 10 + x * (W + GX), y: 10 + y * (H + GY) }; }));
    const width = 20 + columns.length * (W + GX) - GX;
    const height = 20 + Math.max(...columns.map((c) => c.length)) * (H + GY) - GY;
    const root = svg('svg', { width, height, viewBox: '0 0 ' + width + ' ' + height, role: 'img', 'aria-label': 'plan graph' });
    planned.forEach((s) => deps[s.step_ref].forEach((d) => root.append(svg('line', {
      x1: pos[d].x + W, y1: pos[d].y + H / 2, x2: pos[s.step_ref].x, y2: pos[s.step_ref].y + H / 2 }))));
    planned.forEach((s) => {
      const g = svg('g', { class: 'node' });
      const p = pos[s.step_ref];
      g.append(svg('rect', { x: p.x, y: p.y, width: W, height: H, rx: 6, class: statusOf[s.step_ref] || 'planned' }));
      const name = svg('text', { x: p.x + 8, y: p.y + 18 });
      name.textContent = short(s.step_ref + ' · ' + (s.agent || ''), 28);
      const state = svg('text', { x: p.x + 8, y: p.y + 36 });
      state.textContent = short((statusOf[s.step_ref] || 'planned') + ((s.skills || []).length ? ' · ' + s.skills.join(', ') : ''), 30);
      const title = svg('title', {});
      title.textContent = s.objective || s.step_ref;
      g.append(title, name, state);
      root.append(g);
    });
    return el('div', { class: 'graph', id: 'plan-graph' }, root);
  }

  /** Each step's time from start to end on one scale, with its gates and burns as marks. */
  function timeline(run) {
    const steps = (run.steps || []).filter((s) => s.started_at);
    if (steps.length === 0) return el('p', { class: 'muted' }, 'no step has started');
    const t = (x) => new Date(x).getTime();
    const start = Math.min(...steps.map((s) => t(s.started_at)));
    const end = Math.max(Date.now() > start ? (run.completed_at ? t(run.completed_at) : Date.now()) : start,
      ...steps.map((s) => t(s.completed_at || s.started_at)));
    const span = Math.max(1, end - start);
    const pct = (x) => ((t(x) - start) / span) * 100;
    const lanes = steps.map((s) => {
      const track = el('div', { class: 'track' });
      const bar = el('div', { class: 'bar ' + s.status, title: s.step_ref + ': ' + s.status + ', attempt ' + s.attempt });
      bar.style.left = pct(s.started_at) + '%';
      bar.style.width = Math.max(0.5, pct(s.completed_at || new Date(end).toISOString()) - pct(s.started_at)) + '%';
      track.append(bar);
      [...(run.gates || []), ...(run.burns || [])].filter((x) => x.step_id === s.step_id && x.at).forEach((x) => {
        const mark = el('div', { class: 'mark', title: (x.action || x.kind) + ' (attempt ' + (x.attempt ?? '?') + '): ' + x.reason });
        mark.style.left = Math.min(99.5, Math.max(0, pct(x.at))) + '%';
        track.append(mark);
      });
      return el('div', { class: 'lane' }, el('span', {}, s.step_ref + ' · attempt ' + s.attempt), track);
    });
    return el('div', { class: 'timeline' }, lanes,
      el('p', { class: 'muted' }, ((end - start) / 1000).toFixed(1) + ' s from the first start; marks are gates and burns'));
  }

  /** What a refused decision means, in words (a 409 is a decision that can no longer be made). */
  function refusal(e) {
    switch (e.code) {
      case 'approval_decided': return 'Already decided: ' + e.message;
      case 'approval_expired': return 'Expired: ' + e.message;
      case 'illegal_state': return 'The step no longer waits: ' + e.message;
      case 'not_an_approver': return 'Not an approver: ' + e.message;
      default: return 'Refused (' + e.status + '): ' + e.message;
    }
  }

  /**
   * The approvals inbox: pending requests with the exact input and Approve / Deny, the newest
   * decided ones below; live (every 2 s). A pending card stays in place while it is pending, so a
   * deny reason being typed survives the refresh. {@code runId} limits it to one run.
   */
  function approvalsPage(view, runId) {
    const outcome = el('p', { id: 'approval-outcome', role: 'status' });
    const pendingList = el('div', { id: 'approvals-pending' });
    const decidedRows = el('tbody', { id: 'approvals-decided' });
    view.append(
      el('h1', {}, 'Approvals', runId ? el('span', { class: 'muted' }, ' of run ', el('a', { href: '#/runs/' + runId }, short(runId, 8))) : ''),
      runId ? el('p', {}, el('a', { href: '#/approvals' }, 'all approvals')) : '',
      outcome,
      el('h2', {}, 'Pending'),
      el('p', { class: 'muted' }, 'updates every 2 s; approving performs exactly the input shown, once'),
      pendingList,
      el('h2', {}, 'Decided recently'),
      el('table', {},
        el('thead', {}, el('tr', {}, ['status', 'skill', 'run', 'agent', 'decided by', 'decided', 'input']
          .map((h) => el('th', {}, h)))),
        decidedRows));
    const cards = new Map();
    let load = async () => {};
    const decide = async (a, verb, body, buttons) => {
      buttons.forEach((b) => { b.disabled = true; });
      outcome.className = '';
      outcome.textContent = (verb === 'approve' ? 'Approving ' : 'Denying ') + a.approval_id + '…';
      try {
        const d = await api('POST', '/v1/approvals/' + a.approval_id + '/' + verb, body);
        outcome.className = 'ok';
        outcome.textContent = 'Approval ' + d.approval_id + ' ' + d.status + ' by ' + d.decided_by +
          (d.call ? ': the call was ' + d.call.status + (d.call.reason ? ' (' + d.call.reason + ')' : '') : '') + '.';
      } catch (e) {
        outcome.className = 'error';
        outcome.textContent = refusal(e);
      }
      await load();
      buttons.forEach((b) => { b.disabled = false; });
    };
    const card = (a) => {
      const reason = el('input', { class: 'deny-reason', placeholder: 'reason (optional)', maxlength: 1000 });
      const approve = el('button', { type: 'button', class: 'approve' }, 'Approve');
      const deny = el('button', { type: 'button', class: 'deny' }, 'Deny');
      approve.addEventListener('click', () => decide(a, 'approve', undefined, [approve, deny]));
      deny.addEventListener('click', () => decide(a, 'deny',
        reason.value.trim() ? { reason: reason.value.trim() } : undefined, [approve, deny]));
      const facts = el('dl', { class: 'facts' });
      const fact = (k, v) => facts.append(el('dt', {}, k), el('dd', {}, v));
      fact('skill', el('code', {}, a.skill));
      fact('run', el('a', { class: 'approval-run', href: '#/runs/' + a.run_id }, a.run_id));
      fact('step', a.step_id + ' · attempt ' + a.attempt);
      fact('agent', a.agent);
      fact('why', a.reason || '—');
      fact('requested', when(a.requested_at));
      fact('expires', when(a.expires_at));
      fact('approvers', (a.approvers || []).join(', '));
      fact('policy', 'version ' + a.policy_version);
      fact('input sha256', el('code', {}, a.input_sha256));
      fact('input', el('pre', { class: 'approval-input' }, JSON.stringify(a.input, null, 2)));
      return el('section', { class: 'approval', 'data-approval-id': a.approval_id },
        el('h3', {}, status('pending'), ' ', a.skill, ' ', el('span', { class: 'muted' }, a.approval_id)),
        facts,
        el('div', { class: 'decide' }, approve, reason, deny));
    };
    load = async () => {
      const mine = (list) => list.filter((a) => !runId || a.run_id === runId);
      const pending = mine((await api('GET', '/v1/approvals?status=pending&limit=200')).approvals);
      const recent = mine((await api('GET', '/v1/approvals?limit=100')).approvals)
        .filter((a) => a.status !== 'pending').slice(0, 50);
      const ids = new Set(pending.map((a) => a.approval_id));
      for (const [id, c] of cards) {
        if (!ids.has(id)) {
          c.remove();
          cards.delete(id);
        }
      }
      pending.forEach((a) => {
        if (!cards.has(a.approval_id)) cards.set(a.approval_id, card(a));
      });
      pendingList.replaceChildren(...pending.map((a) => cards.get(a.approval_id)));
      if (pending.length === 0) pendingList.append(el('p', { class: 'muted' }, 'nothing waits for a decision'));
      decidedRows.replaceChildren(...recent.map((a) => el('tr', { class: 'decided-row', 'data-approval-id': a.approval_id },
        el('td', {}, status(a.status)),
        el('td', {}, el('code', {}, a.skill)),
        el('td', {}, el('a', { href: '#/runs/' + a.run_id }, short(a.run_id, 8))),
        el('td', {}, a.agent),
        el('td', {}, a.decided_by || (a.status === 'expired' ? 'expired' : '—')),
        el('td', {}, when(a.decided_at)),
        el('td', { class: 'text' }, short(JSON.stringify(a.input), 160)))));
      if (recent.length === 0) decidedRows.append(el('tr', {}, el('td', { colspan: 7, class: 'muted' }, 'none')));
    };
    stop = every(2000, load);
  }

  /** One recorded replay: when, the candidate, its counts, its changes and a few examples. */
  function replaySection(r) {
    const c = r.counts;
    const arrow = (ch) => (ch === 'allow_to_deny' ? 'allow → deny' : 'deny → allow');
    return el('section', { class: 'replay', 'data-replay-id': r.replay_id },
      el('h3', {}, when(r.at) + ' · candidate sha256 ' + short(r.candidate_sha256, 16) + ' · replay ' + short(r.replay_id, 8)),
      el('p', { class: 'replay-counts' }, c.decisions + ' decision(s) decided again: unchanged ' + c.unchanged +
        ' · allow → deny ' + c.allow_to_deny + ' · deny → allow ' + c.deny_to_allow +
        ' · not replayable ' + c.not_replayable),
      r.changes.length === 0 ? el('p', { class: 'muted' }, 'nothing would change between allow and deny')
        : table(['action', 'agent / requester', 'skill', 'allow → deny', 'deny → allow'],
          r.changes.map((g) => [g.action, g.subject || '—', g.skill || '—', String(g.allow_to_deny),
            String(g.deny_to_allow)]), 'replay-change'),
      r.examples.length === 0 ? null : el('ul', { class: 'replay-examples' },
        r.examples.map((e) => el('li', { class: 'replay-example' },
          el('span', { class: 'status ' + String(e.candidate || '').replace(/[^a-z_]/g, '') }, arrow(e.change)), ' ',
          e.action + (e.skill ? ' ' + e.skill : '') + (e.subject ? ' (' + e.subject + ')' : '') + ' in run ',
          e.run_id ? el('a', { href: '#/runs/' + e.run_id }, short(e.run_id, 8)) : '—',
          el('div', { class: 'muted' }, 'was: ' + e.recorded + ' — ' + (e.recorded_reason || '')),
          el('div', {}, 'now: ' + e.candidate + ' — ' + (e.candidate_reason || ''))))));
  }

  const replays = el('div', { id: 'replays' });

  async function loadReplays() {
    const data = await api('GET', '/policy/replays');
    replays.replaceChildren(...(data.replays.length ? data.replays.map(replaySection)
      : [el('p', { class: 'muted' }, 'no replay recorded yet (worka policy replay FILE, or below)')]));
  }

  /** Replays a pasted candidate manifest (a change: it carries the CSRF token like any other). */
  function replayForm() {
    const text = el('textarea', { id: 'replay-manifest', rows: 6, placeholder: 'a candidate policy manifest (YAML)' });
    const runs = el('input', { id: 'replay-runs', type: 'number', min: 1, max: 1000, value: 100 });
    const outcome = el('p', { id: 'replay-outcome' });
    const form = el('form', { id: 'replay-form' }, text,
      el('div', { class: 'decide' }, el('label', {}, 'newest runs ', runs),
        el('button', { type: 'submit' }, 'Replay (performs nothing)')), outcome);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      outcome.textContent = 'replaying…';
      try {
        const r = await api('POST', '/v1/policy/replay', { manifest: text.value, runs: Number(runs.value) });
        outcome.textContent = 'replayed ' + r.counts.decisions + ' decision(s): allow → deny ' +
          r.counts.allow_to_deny + ', deny → allow ' + r.counts.deny_to_allow;
        await loadReplays();
      } catch (err) {
        outcome.textContent = err.message;
      }
    });
    return form;
  }

  async function policyPage(view) {
    view.append(el('h1', {}, 'Policy'));
    try {
      const p = await api('GET', '/v1/policy');
      const facts = el('dl', { class: 'facts' },
        el('dt', {}, 'version'), el('dd', { id: 'policy-version' }, String(p.version)),
        el('dt', {}, 'sha256'), el('dd', {}, p.sha256),
        el('dt', {}, 'activated'), el('dd', {}, when(p.created_at)));
      const versions = (await api('GET', '/policy/versions')).versions;
      const pick = (id, chosen) => el('select', { id },
        versions.map((v) => el('option', { value: v.id, selected: v.id === chosen ? 'selected' : null },
          'version ' + v.version + (v.active ? ' (active)' : ''))));
      const from = pick('diff-from', (versions[1] || versions[0]).id);
      const to = pick('diff-to', versions[0].id);
      const changes = el('ul', { id: 'diff' });
      const diff = async () => {
        const d = await api('GET', '/policy/diff?from=' + encodeURIComponent(from.value) +
          '&to=' + encodeURIComponent(to.value));
        changes.replaceChildren(...(d.changes.length ? d.changes.map((c) => el('li', {}, c))
          : [el('li', { class: 'muted' }, 'no change: the same policy')]));
      };
      [from, to].forEach((s) => s.addEventListener('change', () => diff().catch((e) => show(e.message))));
      view.append(facts,
        el('h2', {}, 'Versions'),
        table(['version', 'sha256', 'stored', ''], versions.map((v) => [String(v.version), short(v.sha256, 16),
          when(v.created_at), v.active ? status('active') : '']), 'version-row'),
        el('h2', {}, 'Diff'),
        el('div', { class: 'filters' }, el('label', {}, 'from', from), el('label', {}, 'to', to)),
        changes,
        el('h2', {}, 'Replays'), replayForm(), replays,
        el('h2', {}, 'Active manifest'), el('pre', { id: 'policy-source' }, p.source),
        el('h2', {}, 'Compiled'), json(p.compiled));
      await diff();
      await loadReplays();
    } catch (e) {
      show(e.message);
    }
  }

  async function skillsPage(view) {
    view.append(el('h1', {}, 'Skills'));
    try {
      const data = await api('GET', '/v1/skills');
      view.append(table(['skill', 'provider', 'side effect', 'available', 'description'],
        data.skills.map((s) => [el('code', {}, s.name), s.provider, s.side_effect ? 'yes' : 'no',
          s.available ? 'yes' : el('span', { class: 'error' }, 'no: ' + (s.unavailable_reason || '')), s.description || '']),
        'skill-row'));
    } catch (e) {
      show(e.message);
    }
  }

  async function auditPage(view) {
    view.append(el('h1', {}, 'Audit'));
    const chain = el('div', {});
    const gates = el('div', {});
    view.append(el('h2', {}, 'Gate hash chain'), chain, el('h2', {}, 'Recent gates'), gates);
    try {
      const v = await api('GET', '/v1/audit/verify');
      chain.append(v.intact
        ? el('p', { id: 'audit-status' }, status('intact'), ' ' + v.gates + ' gates; head ' + short(v.head_hash, 24))
        : el('p', { id: 'audit-status' }, status('broken'), ' at chain index ' + v.chain_index + ': ' + v.problem));
      const recent = await api('GET', '/v1/gates?limit=50');
      gates.append(table(['action', 'status', 'subject', 'skill', 'run', 'reason', 'at'],
        recent.gates.map((g) => [g.action, status(g.status), g.subject, g.skill || '',
          g.run_id ? el('a', { href: '#/runs/' + g.run_id }, short(g.run_id, 8)) : '', g.reason, when(g.at)]),
        'gate-row'));
    } catch (e) {
      show(e.message);
    }
  }

  // ---- start -----------------------------------------------------------------------------------

  document.addEventListener('DOMContentLoaded', async () => {
    $('sign-in-form').addEventListener('submit', signIn);
    $('sign-out').addEventListener('click', signOut);
    window.addEventListener('hashchange', () => { if (csrf) route(); });
    try {
      signedIn(await api('GET', '/session'));
    } catch (e) {
      signedOut('');
    }
  });
})();
