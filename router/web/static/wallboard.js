/* The live wallboard: one server-sent event stream (read through fetch, so the token goes in a
 * header) pushes a snapshot whenever the queues, the agents or today's numbers change. Between
 * pushes the longest waits are counted up here from when the oldest handoff arrived: nothing is
 * asked of the server until it pushes again. */
(function () {
  "use strict";
  var S = window.Supervisor;
  var $ = S.$, el = S.el;
  var skew = 0;      // server time minus this browser's clock, from the last snapshot
  var waits = [];    // [cell, oldest_since_ms]
  var retry = 1000;
  // the ticket panel: asked for every 10 s (the ticket service has no push of its own)
  var TICKETS_EVERY_MS = 10000;
  var SHOWN_ALERTS = 12;
  var alertsSince = 0;
  var alerts = [];   // the newest SHOWN_ALERTS, newest last

  S.signIn(function () {
    connect();
    window.setInterval(tick, 1000);
    tickets();
    window.setInterval(tickets, TICKETS_EVERY_MS);
  });

  function connect() {
    S.fetch("/v1/supervisor/wallboard/events").then(function (r) {
      document.body.setAttribute("data-stream", "open");
      $("live").textContent = "实时";
      retry = 1000;
      var reader = r.body.getReader();
      var decoder = new TextDecoder();
      var buf = "";
      function pump() {
        return reader.read().then(function (chunk) {
          if (chunk.done) throw new Error("closed");
          buf += decoder.decode(chunk.value, {stream: true});
          var frames = buf.split("\n\n");
          buf = frames.pop();
          frames.forEach(onFrame);
          return pump();
        });
      }
      return pump();
    }).catch(function (err) {
      document.body.setAttribute("data-stream", "closed");
      $("live").textContent = "重新连接中…";
      if (err.status === 401 || err.status === 403 || !S.auth) return;
      window.setTimeout(connect, retry);  // reconnect, backing off; not a poll
      retry = Math.min(retry * 2, 30000);
    });
  }

  function onFrame(frame) {
    var event = null, data = null;
    frame.split("\n").forEach(function (line) {
      if (line.indexOf("event: ") === 0) event = line.slice(7);
      else if (line.indexOf("data: ") === 0) data = line.slice(6);
    });
    if (event === "snapshot" && data) {
      try { render(JSON.parse(data)); } catch (e) { /* a bad frame: wait for the next */ }
    }
  }

  function render(snap) {
    skew = snap.generated_ms - Date.now();
    renderToday(snap.today);
    renderQueues(snap.queues);
    renderAgents(snap.agents);
    $("updated").textContent = S.chinaTime(snap.generated_ms) + ":" +
      String(Math.floor(snap.generated_ms / 1000) % 60).padStart(2, "0");
    document.body.setAttribute("data-snapshots",
      String(Number(document.body.getAttribute("data-snapshots") || 0) + 1));
  }

  function tile(label, value, detail, cls) {
    var t = el("div", "tile" + (cls ? " " + cls : ""));
    t.appendChild(el("div", "label", label));
    t.appendChild(el("div", "value", value));
    if (detail) t.appendChild(el("div", "detail", detail));
    return t;
  }

  function renderToday(today) {
    var box = $("today");
    box.replaceChildren();
    if (!today.length) {
      box.appendChild(el("p", "empty", "暂无今日统计（服务档案不可用）。"));
      return;
    }
    today.forEach(function (m) {
      var detail = "";
      if (m.denominator !== null && m.denominator !== undefined && m.unit === "%") {
        detail = m.numerator + " / " + m.denominator;
      }
      if (m.target !== null && m.target !== undefined) {
        detail += (detail ? " · " : "") + "目标 " + S.format(m.target, m.unit);
      }
      var cls = "";
      if (m.target !== null && m.target !== undefined && m.value !== null) {
        var lowerBetter = m.unit === "s";
        var ok = lowerBetter ? m.value <= m.target : m.value >= m.target;
        cls = ok ? "good" : "bad";
      }
      var t = tile(m.label, S.format(m.value, m.unit), detail, cls);
      t.setAttribute("data-testid", "today-" + m.metric);
      box.appendChild(t);
    });
  }

  function renderQueues(queues) {
    var body = $("queues");
    body.replaceChildren();
    waits = [];
    queues.forEach(function (q) {
      var tr = el("tr", q.depth ? "waiting" : "");
      tr.setAttribute("data-testid", "queue-row");
      tr.setAttribute("data-queue", q.queue);
      tr.appendChild(el("td", "", S.label("skills", q.queue)));
      tr.appendChild(el("td", "num depth", q.depth));
      var wait = el("td", "num wait", q.depth ? S.duration(q.oldest_wait_s) : "—");
      if (q.oldest_since_ms) waits.push([wait, q.oldest_since_ms]);
      tr.appendChild(wait);
      tr.appendChild(el("td", "num", q.agents_available));
      body.appendChild(tr);
    });
    $("no-queues").hidden = queues.length > 0;
  }

  function renderAgents(agents) {
    var counts = $("agent-counts");
    counts.replaceChildren();
    ["available", "busy", "away", "offline"].forEach(function (state) {
      var t = tile(S.STATES[state], agents.counts[state], "", "state-" + state);
      t.setAttribute("data-testid", "agents-" + state);
      counts.appendChild(t);
    });
    var body = $("agents");
    body.replaceChildren();
    agents.list.forEach(function (a) {
      var tr = el("tr");
      tr.setAttribute("data-agent", a.agent_id);
      tr.appendChild(el("td", "", a.display_name + "（" + a.agent_id + "）"));
      var state = el("td");
      state.appendChild(el("span", "badge " + a.state, S.STATES[a.state] || a.state));
      tr.appendChild(state);
      tr.appendChild(el("td", "num", a.load + " / " + a.max_concurrent));
      tr.appendChild(el("td", "", a.skills.join("、")));
      body.appendChild(tr);
    });
  }

  // -- the ticket panel (router/tickets/api.py: tickets-summary, ticket-alerts) ---------------
  function tickets() {
    S.api("/v1/tickets-summary").then(renderSummary).then(function () {
      return S.api("/v1/ticket-alerts?limit=500&since=" + alertsSince);
    }).then(function (body) {
      body.alerts.forEach(function (a) { alertsSince = Math.max(alertsSince, a.id); });
      alerts = alerts.concat(body.alerts).slice(-SHOWN_ALERTS);
      renderAlerts();
      $("tickets-error").textContent = "";
      document.body.setAttribute("data-ticket-polls",
        String(Number(document.body.getAttribute("data-ticket-polls") || 0) + 1));
    }).catch(function (err) {
      if (err.status !== 401) $("tickets-error").textContent = "工单数据暂时不可用";
    });
  }

  function renderSummary(sum) {
    var body = $("ticket-teams");
    body.replaceChildren();
    Object.keys(S.LABELS.teams).forEach(function (team) {
      var n = sum.teams[team] || {open: 0, warned: 0, breached: 0};
      var tr = el("tr", n.breached ? "breached" : "");
      tr.setAttribute("data-testid", "ticket-team-row");
      tr.setAttribute("data-team", team);
      tr.appendChild(el("td", "", S.label("teams", team)));
      tr.appendChild(el("td", "num open", n.open));
      tr.appendChild(el("td", "num warned", n.warned));
      tr.appendChild(el("td", "num breached-count", n.breached));
      body.appendChild(tr);
    });
    var today = sum.alerts_today || {};
    $("alerts-today").textContent = "今日告警：临期升级 " + (today.warning || 0) + " · 超时 " +
      (today.breach || 0) + " · 重大告警 " + (today.page || 0);
  }

  function renderAlerts() {
    var list = $("ticket-alerts");
    list.replaceChildren();
    alerts.slice().reverse().forEach(function (a) {
      var li = el("li", "alert " + a.kind);
      li.setAttribute("data-testid", "ticket-alert");
      li.setAttribute("data-kind", a.kind);
      li.setAttribute("data-ticket", a.ticket_id);
      li.appendChild(el("span", "badge " + a.kind, S.LABELS.alertKinds[a.kind] || a.kind));
      li.appendChild(el("span", "when", S.chinaTime(Date.parse(a.at), "time")));
      li.appendChild(el("span", "", a.text));
      list.appendChild(li);
    });
    $("no-alerts").hidden = alerts.length > 0;
  }

  function tick() {
    var now = Date.now() + skew;
    waits.forEach(function (w) { w[0].textContent = S.duration((now - w[1]) / 1000); });
  }
})();
