/* The console's 工单 tab: a team's open tickets (nearest deadline first), one ticket with its
 * record, and the steps its state allows. Talks to the router's ticket API
 * (router/tickets/api.py) with the agent's own token (console.js signs in and passes it on).
 * Ticket texts are stored escaped by the ticket service and shown as stored, with textContent. */
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var DATA = JSON.parse($("page-data").textContent); // router/web page_data
  var L = DATA.labels, V = DATA.tickets;
  var CHINA_MS = 8 * 3600 * 1000;
  var agent = null;   // {id, token}
  var current = null; // the ticket shown
  var skew = 0;       // the service's clock minus this browser's (the service's `now`)
  var refresher = null;

  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined && text !== null) n.textContent = String(text);
    return n;
  }

  function label(table, id) { return (table && table[id]) || (id === null ? "" : String(id)); }

  function api(method, path, body) {
    var init = {method: method, headers: {Authorization: "Bearer " + agent.token}};
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (data) {
        if (r.ok) return data;
        var e = new Error("HTTP " + r.status);
        e.status = r.status;
        e.code = (data && data.error) || (r.status === 401 ? "unauthorized" : "unavailable");
        throw e;
      });
    });
  }

  /* A refusal as people read it (page data: tickets.errors), never the server's English. */
  function refusal(err) {
    return V.errors[err.code] || (err.status >= 500 || !err.status ? V.errors.unavailable :
      "操作未成功（" + err.code + "）");
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  /* "12-05 10:30", China time, of an ISO time; "—" for none. */
  function when(iso) {
    if (!iso) return "—";
    var d = new Date(Date.parse(iso) + CHINA_MS);
    return pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) + " " +
      pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
  }

  function left(iso) {
    var s = Math.round((Date.parse(iso) - (Date.now() + skew)) / 1000);
    if (s < 0) return "已超时";
    var m = Math.floor(s / 60);
    if (m < 60) return "剩余 " + m + " 分";
    if (m < 48 * 60) return "剩余 " + Math.floor(m / 60) + " 小时 " + (m % 60) + " 分";
    return "剩余 " + Math.floor(m / 1440) + " 天";
  }

  /* The next deadline of a ticket: `next_due` is an ISO time or {window, due}. */
  function nextDue(t) {
    var due = t.next_due;
    if (!due) return null;
    if (typeof due === "string") return {due: due, window: null};
    return {due: due.due || due.at, window: due.window || null};
  }

  function who(actor) {
    if (!actor) return "未认领";
    var parts = String(actor).split(":");
    if (parts[0] === "agent") return "坐席 " + parts[1];
    if (parts[0] === "supervisor") return "主管 " + parts[1];
    return label(L.senders, parts[0]);
  }

  function windows(list) {
    return (list || []).map(function (w) { return label(V.windows, w); }).join("、");
  }

  function fillTeams(select, except) {
    select.textContent = "";
    Object.keys(L.teams).forEach(function (id) {
      if (id === except) return;
      var o = el("option", "", L.teams[id]);
      o.value = id;
      select.appendChild(o);
    });
  }

  // -- the view switch ------------------------------------------------------------------------
  function show(tickets) {
    $("desk").hidden = tickets;
    $("tickets").hidden = !tickets;
    $("view-desk").setAttribute("aria-pressed", String(!tickets));
    $("view-tickets").setAttribute("aria-pressed", String(tickets));
    sessionStorage.setItem("console.view", tickets ? "tickets" : "desk");
    window.clearInterval(refresher);
    if (tickets) {
      loadQueue();
      refresher = window.setInterval(loadQueue, 30000);
    }
  }

  document.addEventListener("console:signed-in", function (e) {
    agent = e.detail;
    $("views").hidden = false;
    fillTeams($("t-team"));
    var team = sessionStorage.getItem("console.ticketTeam");
    if (team && L.teams[team]) $("t-team").value = team;
    if (sessionStorage.getItem("console.view") === "tickets") show(true);
  });
  $("view-desk").addEventListener("click", function () { show(false); });
  $("view-tickets").addEventListener("click", function () { show(true); });
  $("t-team").addEventListener("change", function () {
    sessionStorage.setItem("console.ticketTeam", $("t-team").value);
    loadQueue();
  });
  $("t-refresh").addEventListener("click", loadQueue);

  // -- the queue ------------------------------------------------------------------------------
  function loadQueue() {
    if (!agent) return;
    var team = $("t-team").value;
    api("GET", "/v1/tickets?team=" + encodeURIComponent(team)).then(function (body) {
      if (body.now) skew = Date.parse(body.now) - Date.now();
      var ul = $("t-queue");
      ul.textContent = "";
      body.tickets.forEach(function (t) { ul.appendChild(row(t)); });
      $("t-count").textContent = String(body.tickets.length);
      $("t-queue-empty").hidden = body.tickets.length > 0;
      $("t-queue-error").textContent = "";
      document.body.setAttribute("data-ticket-queue", team);
    }).catch(function (err) { $("t-queue-error").textContent = refusal(err); });
  }

  function row(t) {
    var li = el("li", "t-row");
    li.setAttribute("data-testid", "ticket-row");
    li.setAttribute("data-ticket", t.id);
    li.setAttribute("data-state", t.state);
    if (t.breached && t.breached.length) li.classList.add("breached");
    else if (t.warned && t.warned.length) li.classList.add("warned");
    if (current && current.id === t.id) li.classList.add("active");
    li.appendChild(el("div", "t-id", t.id + " · " + label(V.kinds, t.kind) +
      (t.severity ? " · " + label(V.severities, t.severity) : "")));
    li.appendChild(el("div", "t-state", t.state_label || label(L.ticket_states, t.state)));
    var due = nextDue(t);
    if (due) {
      li.appendChild(el("div", "t-due", (due.window ? label(V.windows, due.window) : "") +
        "到期 " + when(due.due) + "（" + left(due.due) + "）"));
    }
    if (t.breached && t.breached.length) {
      var b = el("div", "t-breached", "已超时：" + windows(t.breached));
      b.setAttribute("data-testid", "ticket-breached");
      li.appendChild(b);
    }
    li.addEventListener("click", function () { openTicket(t.id); });
    return li;
  }

  // -- one ticket -----------------------------------------------------------------------------
  function openTicket(id) {
    $("t-error").textContent = "";
    api("GET", "/v1/tickets/" + encodeURIComponent(id)).then(render)
      .catch(function (err) { $("t-queue-error").textContent = refusal(err); });
  }

  function meta(dl, name, value, testid) {
    dl.appendChild(el("dt", "", name));
    var dd = el("dd", "", value === null || value === undefined || value === "" ? "—" : value);
    if (testid) dd.setAttribute("data-testid", testid);
    dl.appendChild(dd);
  }

  function render(body) {
    var t = body.ticket;
    current = t;
    $("t-none").hidden = true;
    $("t-detail").hidden = false;
    $("t-detail").setAttribute("data-ticket", t.id);
    $("t-detail").setAttribute("data-state", t.state);
    $("t-title").textContent = "工单 " + t.id + " · " + label(V.kinds, t.kind) +
      (t.severity ? "（" + label(V.severities, t.severity) + "）" : "");
    var dl = $("t-meta");
    dl.textContent = "";
    meta(dl, "状态", t.state_label || label(L.ticket_states, t.state), "ticket-state");
    meta(dl, "班组", t.team_label || label(L.teams, t.team), "ticket-team-label");
    meta(dl, "处理人", who(t.assignee), "ticket-assignee");
    meta(dl, "客户", t.customer || "匿名");
    meta(dl, "渠道", label(L.channels, t.channel));
    meta(dl, "受理时间", when(t.created_at));
    meta(dl, "响应时限", when(t.respond_by) + (t.responded_at ? "（已响应 " + when(t.responded_at) + "）" : ""));
    meta(dl, "办结时限", when(t.resolve_by) + (t.resolved_at ? "（已办结 " + when(t.resolved_at) + "）" : ""));
    if (t.follow_up_by) meta(dl, "回访时限", when(t.follow_up_by));
    meta(dl, "已升级", t.escalated ? "是" + (t.warned && t.warned.length ? "（" + windows(t.warned) + "）" : "") : "否", "ticket-escalated");
    meta(dl, "已超时", windows(t.breached) || "否", "ticket-breached-windows");
    if (t.result) meta(dl, "处理结果", t.result, "ticket-result");
    if (t.remedy) meta(dl, "补救措施", t.remedy);
    if (t.rating) meta(dl, "满意度", t.rating + " 分（" + label(V.ratings, String(t.rating)) + "）", "ticket-rating");
    if (t.reopens) meta(dl, "重新处理次数", t.reopens);
    if (t.outage_id) meta(dl, "关联故障", t.outage_id);
    $("t-description").textContent = t.description || "";
    renderEvents(body.events || []);
    allow(t);
    document.querySelectorAll("#t-queue .t-row").forEach(function (li) {
      li.classList.toggle("active", li.getAttribute("data-ticket") === t.id);
    });
  }

  function renderEvents(events) {
    var ol = $("t-events");
    ol.textContent = "";
    events.forEach(function (ev) {
      var li = el("li", "t-event step-" + ev.step);
      li.setAttribute("data-testid", "ticket-event");
      li.setAttribute("data-step", ev.step);
      li.appendChild(el("span", "t-when", when(ev.ts)));
      li.appendChild(el("strong", "", ev.step_label || label(L.ticket_steps, ev.step)));
      li.appendChild(el("span", "t-who", who(ev.actor)));
      if (ev.step === "reassign" && ev.team) li.appendChild(el("span", "", "→ " + (ev.team_label || label(L.teams, ev.team))));
      if (ev.text) li.appendChild(el("div", "t-text", ev.text));
      if (ev.detail && typeof ev.detail === "string") li.appendChild(el("div", "t-text", ev.detail));
      ol.appendChild(li);
    });
  }

  /* The steps this ticket's state allows (telecom.tickets' rules; the service has the last word
   * and a refusal is shown). */
  function allow(t) {
    var s = t.state;
    var working = s === "intake" || s === "assessing" || s === "handling";
    var open = working || s === "feedback";
    var visible = {
      claim: working && !t.assignee,
      respond: s === "assessing" || s === "handling",
      note: s !== "closed",
      reassign: working,
      escalate: open,
      resolve: s === "handling",
      reopen: s === "feedback" || s === "closed",
    };
    Object.keys(visible).forEach(function (step) {
      var n = $("a-" + step);
      n.hidden = !visible[step];
      n.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
    });
    $("a-claim").disabled = false;
    fillTeams($("a-reassign").elements.team, t.team);
    var remedy = $("a-resolve").elements.remedy;
    remedy.required = t.severity === "major";
    remedy.placeholder = t.severity === "major" ? "重大投诉必填" : "可选";
  }

  function step(body, control) {
    if (!current) return;
    $("t-error").textContent = "";
    if (control) control.disabled = true;
    var id = current.id;
    api("POST", "/v1/tickets/" + encodeURIComponent(id) + "/steps", body).then(function (r) {
      document.querySelectorAll(".t-actions form").forEach(function (f) { f.reset(); });
      render(r);
      loadQueue();
    }).catch(function (err) {
      var p = $("t-error");
      p.textContent = refusal(err);
      p.setAttribute("data-error", err.code);
      if (control) control.disabled = false;
    });
  }

  $("a-claim").addEventListener("click", function () { step({step: "claim"}, $("a-claim")); });
  ["respond", "note", "reassign", "escalate", "resolve", "reopen"].forEach(function (name) {
    var form = $("a-" + name);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var body = {step: name}, missing = null;
      Array.prototype.forEach.call(form.elements, function (f) {
        if (!f.name) return;
        if (f.value.trim()) body[f.name] = f.value.trim();
        else if (f.required && !missing) missing = f.name;
      });
      if (missing) {  // said in Chinese here, not in the browser's own validation bubble
        $("t-error").textContent = V.errors[missing + "_required"] || V.errors.text_required;
        $("t-error").setAttribute("data-error", missing + "_required");
        return;
      }
      step(body, form.querySelector("button"));
    });
  });
})();
