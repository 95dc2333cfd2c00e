/* Agent console. Talks to the router's agent API with the agent's own bearer token.
 * All text from customers, the bot and the handoff is set with textContent, never as markup. */
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var QUICK = ["您好，我是人工客服，很高兴为您服务。", "请稍等，我帮您查询一下。",
    "请问还有其他可以帮您的吗？", "感谢您的耐心等待。"];
  var DATA = JSON.parse($("page-data").textContent); // the server's vocabulary (router/web)
  var INTENTS = DATA.labels.intents;
  var SKILLS = {}; // the skills an agent transfers to (the supervisors' own is not one of them)
  Object.keys(DATA.labels.skills).forEach(function (id) {
    if (id !== "complaints_supervisor") SKILLS[id] = DATA.labels.skills[id];
  });
  var URGENCY = {}; // level -> label
  DATA.urgency.forEach(function (u) { URGENCY[u.name] = u.label; });
  var agent = null; // {id, token}
  var offers = {};  // offer id -> offer
  var convs = {};   // conversation id -> {handoffId, pane, tab, seen}
  var active = null;
  var heartbeat = null;
  var streamAbort = null;

  /* The choices of a <select>: every id of a label table, in the table's order. */
  function fillSelect(select, table) {
    Object.keys(table).forEach(function (id) {
      var option = el("option", "", table[id]);
      option.value = id;
      select.appendChild(option);
    });
  }

  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined && text !== null) n.textContent = String(text);
    return n;
  }

  function api(method, path, body) {
    var init = {method: method, headers: {Authorization: "Bearer " + agent.token}};
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (r) {
      if (!r.ok) { var e = new Error("HTTP " + r.status); e.status = r.status; throw e; }
      return r.status === 204 ? null : r.json();
    });
  }

  // -- login, presence, heartbeat ------------------------------------------------------------
  $("login").addEventListener("submit", function (e) {
    e.preventDefault();
    login($("agent-id").value.trim(), $("token").value.trim());
  });

  function login(id, token) {
    agent = {id: id, token: token};
    api("GET", "/v1/agents/" + encodeURIComponent(id)).then(function (me) {
      sessionStorage.setItem("console.agent", JSON.stringify(agent));
      $("login").hidden = true;
      $("desk").hidden = false;
      $("presence-box").hidden = false;
      $("logout").hidden = false;
      $("me").textContent = me.display_name + "（" + me.agent_id + "）";
      $("presence").value = me.status;
      document.body.setAttribute("data-agent", me.agent_id);
      startStream();
      refreshOffers();
      restoreConversations();
      heartbeat = window.setInterval(beat, 10000);
      // the 工单 tab (console-tickets.js) works with the same agent and token
      document.dispatchEvent(new CustomEvent("console:signed-in",
        {detail: {id: agent.id, token: agent.token}}));
    }).catch(function (err) {
      agent = null;
      $("login-error").textContent = err.status === 401 || err.status === 403 ?
        "工号或令牌不正确" : "无法连接服务器";
    });
  }

  function beat() {
    var status = $("presence").value;
    if (status !== "offline") api("POST", "/v1/agents/" + agent.id + "/presence", {status: status})
      .catch(function () { /* next beat */ });
  }

  $("presence").addEventListener("change", function () {
    api("POST", "/v1/agents/" + agent.id + "/presence", {status: $("presence").value})
      .then(refreshOffers);
  });

  $("logout").addEventListener("click", function () {
    api("POST", "/v1/agents/" + agent.id + "/presence", {status: "offline"}).finally(function () {
      sessionStorage.removeItem("console.agent");
      sessionStorage.removeItem("console.conversations");
      window.location.reload();
    });
  });

  // -- live events (SSE read through fetch, so the token goes in a header) -------------------
  function startStream() {
    var lastId = null;
    function run() {
      streamAbort = new AbortController();
      var headers = {Authorization: "Bearer " + agent.token};
      if (lastId) headers["Last-Event-ID"] = lastId;
      fetch("/v1/agents/" + encodeURIComponent(agent.id) + "/events",
        {headers: headers, signal: streamAbort.signal}).then(function (r) {
        if (!r.ok) { var e = new Error("HTTP " + r.status); e.status = r.status; throw e; }
        document.body.setAttribute("data-stream", "open");
        var reader = r.body.getReader();
        var decoder = new TextDecoder();
        var buf = "";
        function pump() {
          return reader.read().then(function (chunk) {
            if (chunk.done) throw new Error("closed");
            buf += decoder.decode(chunk.value, {stream: true});
            var parts = buf.split("\n\n");
            buf = parts.pop();
            parts.forEach(function (frame) {
              var data = null, id = null;
              frame.split("\n").forEach(function (line) {
                if (line.indexOf("data: ") === 0) data = line.slice(6);
                else if (line.indexOf("id: ") === 0) id = line.slice(4);
              });
              if (id) lastId = id;
              if (data) { try { onEvent(JSON.parse(data)); } catch (e) { /* bad frame */ } }
            });
            return pump();
          });
        }
        return pump();
      }).catch(function (err) {
        document.body.setAttribute("data-stream", "closed");
        if (err && err.status === 401) signedOut();
        else if (agent) window.setTimeout(run, 1000);
      });
    }
    run();
  }

  // The token no longer opens the console (replaced, or the agent removed): the server ended the
  // stream and refuses it again. Back to the login form, saying why.
  function signedOut() {
    agent = null;
    window.clearInterval(heartbeat);
    sessionStorage.removeItem("console.agent");
    sessionStorage.removeItem("console.conversations");
    sessionStorage.setItem("console.notice", "登录已失效：令牌已更换或工号已停用，请重新登录。");
    window.location.reload();
  }

  function onEvent(ev) {
    var t = ev.type;
    if (t === "customer_message") {
      var c = convs[ev.conversation];
      if (c) addMessage(c, {seq: ev.seq, sender: "customer", text: ev.text});
    } else if (t === "offered" || t === "offer_expired" || t === "offer_rescinded" ||
               t === "accepted" || t === "offer_rejected") {
      refreshOffers();
    } else if (t === "presence" && ev.status) {
      $("presence").value = ev.status;
    } else if (t === "abandoned" || t === "rescued" || t === "transferred" || t === "completed") {
      Object.keys(convs).forEach(function (cid) {
        if (convs[cid].handoffId === ev.handoff) closeConversation(cid, t);
      });
      refreshOffers();
    }
  }

  // -- offers ---------------------------------------------------------------------------------
  function refreshOffers() {
    if (!agent) return;
    api("GET", "/v1/agents/" + agent.id + "/offers").then(function (list) {
      offers = {};
      var ul = $("offers");
      ul.textContent = "";
      list.forEach(function (o) {
        offers[o.offer_id] = o;
        ul.appendChild(renderOffer(o));
      });
      $("offer-count").textContent = String(list.length);
    }).catch(function () { /* next event */ });
  }

  function renderOffer(o) {
    var h = o.handoff;
    var li = el("li", "offer");
    li.setAttribute("data-testid", "offer");
    li.appendChild(el("div", "meta", (INTENTS[h.intent] || h.intent || "咨询") + " · 紧急程度 " +
      (URGENCY[h.urgency] || h.urgency) + " · " + h.skills.join(", ")));
    li.appendChild(el("div", "summary", h.summary));
    var cd = el("div", "countdown");
    cd.setAttribute("data-testid", "offer-countdown");
    li.appendChild(cd);
    var expires = new Date(o.expires_at).getTime();
    function tick() {
      var left = Math.max(0, Math.round((expires - Date.now()) / 1000));
      cd.textContent = "剩余 " + left + " 秒";
      if (left > 0 && li.isConnected) window.setTimeout(tick, 500);
    }
    tick();
    var row = el("div", "row");
    var acc = el("button", "accept", "接入");
    acc.type = "button";
    acc.setAttribute("data-testid", "accept");
    var rej = el("button", "reject", "拒绝");
    rej.type = "button";
    rej.setAttribute("data-testid", "reject");
    acc.addEventListener("click", function () {
      acc.disabled = rej.disabled = true;
      api("POST", "/v1/offers/" + o.offer_id + "/accept").then(function () {
        openConversation(h.conversation_id);
      }).catch(function () { alertLine("接入失败：邀请已过期或被撤回"); }).finally(refreshOffers);
    });
    rej.addEventListener("click", function () {
      acc.disabled = rej.disabled = true;
      api("POST", "/v1/offers/" + o.offer_id + "/reject").finally(refreshOffers);
    });
    row.appendChild(acc);
    row.appendChild(rej);
    li.appendChild(row);
    return li;
  }

  function alertLine(text) {
    var p = el("p", "error", text);
    $("offers").parentNode.insertBefore(p, $("offers"));
    window.setTimeout(function () { p.remove(); }, 4000);
  }

  // -- conversations --------------------------------------------------------------------------
  function saveOpen() {
    sessionStorage.setItem("console.conversations", JSON.stringify(Object.keys(convs)));
  }

  function restoreConversations() {
    var ids = [];
    try { ids = JSON.parse(sessionStorage.getItem("console.conversations") || "[]"); } catch (e) { ids = []; }
    ids.forEach(openConversation);
  }

  function openConversation(cid) {
    if (convs[cid]) { select(cid); return; }
    api("GET", "/v1/conversations/" + encodeURIComponent(cid)).then(function (view) {
      var pane = $("pane-template").content.firstElementChild.cloneNode(true);
      fillSelect(pane.querySelector(".skill"), SKILLS);
      fillSelect(pane.querySelector(".disposition"), DATA.labels.dispositions);
      pane.setAttribute("data-testid", "conversation");
      pane.setAttribute("data-conversation", cid);
      var h = view.handoff || {};
      var c = {id: cid, handoffId: h.handoff_id, pane: pane, seen: {}, closed: false};
      convs[cid] = c;
      var cust = h.customer || {};
      pane.querySelector(".meta").textContent = "客户 " + (cust.id || "未识别") + " · " +
        (cust.tier || "regular") + " · " + (INTENTS[h.intent] || h.intent || "") + " · 渠道 " +
        (DATA.labels.channels[h.channel] || h.channel || "");
      pane.querySelector(".summary").textContent = h.summary || "";
      var ol = pane.querySelector(".transcript ol");
      (h.transcript || []).forEach(function (turn) {
        var text = typeof turn === "string" ? turn :
          ((turn.role === "bot" ? "机器人：" : "客户：") + turn.text);
        ol.appendChild(el("li", null, text));
      });
      view.messages.forEach(function (m) { addMessage(c, m); });
      var quick = pane.querySelector(".quick");
      QUICK.forEach(function (q) {
        var b = el("button", null, q);
        b.type = "button";
        b.addEventListener("click", function () { pane.querySelector(".reply").value = q; pane.querySelector(".reply").focus(); });
        quick.appendChild(b);
      });
      pane.querySelector(".compose").addEventListener("submit", function (e) {
        e.preventDefault();
        var input = pane.querySelector(".reply");
        var text = input.value.trim();
        if (!text || c.closed) return;
        input.value = "";
        api("POST", "/v1/conversations/" + encodeURIComponent(cid) + "/messages", {text: text})
          .then(function (r) { addMessage(c, {seq: r.seq, sender: "agent", text: text, agent_name: "我"}); })
          .catch(function () { addMessage(c, {sender: "system", text: "发送失败"}); });
      });
      pane.querySelector(".transfer").addEventListener("click", function () {
        var skill = pane.querySelector(".skill").value;
        api("POST", "/v1/handoffs/" + c.handoffId + "/transfer", {skills: [skill]})
          .then(function () { closeConversation(cid, "transferred"); });
      });
      pane.querySelector(".complete").addEventListener("click", function () {
        var disposition = pane.querySelector(".disposition").value;
        api("POST", "/v1/handoffs/" + c.handoffId + "/complete", {disposition: disposition})
          .then(function () { closeConversation(cid, "completed"); });
      });
      $("panes").appendChild(pane);
      var tab = el("li", "tab", (INTENTS[h.intent] || "会话") + " · " + (cust.id || cid.slice(0, 6)));
      tab.setAttribute("data-testid", "conversation-tab");
      tab.addEventListener("click", function () { select(cid); });
      $("tabs").appendChild(tab);
      c.tab = tab;
      saveOpen();
      select(cid);
    }).catch(function () {
      var ids = Object.keys(convs);
      saveOpen(ids);
    });
  }

  function select(cid) {
    active = cid;
    $("empty").hidden = true;
    Object.keys(convs).forEach(function (id) {
      var c = convs[id];
      c.pane.hidden = id !== cid;
      c.tab.classList.toggle("active", id === cid);
      if (id === cid) c.tab.classList.remove("unread");
    });
  }

  function addMessage(c, m) {
    if (m.seq) { if (c.seen[m.seq]) return; c.seen[m.seq] = true; }
    var sender = m.sender || "system";
    var row = el("div", "msg " + sender);
    row.setAttribute("data-testid", "msg-" + sender);
    var who = {customer: "客户", bot: "机器人", agent: "客服 " + (m.agent_name || ""), system: ""}[sender];
    if (who) row.appendChild(el("span", "who", who));
    row.appendChild(el("span", "text", m.text || ""));
    var log = c.pane.querySelector(".log");
    log.appendChild(row);
    log.scrollTop = log.scrollHeight;
    if (active !== c.id && c.tab) c.tab.classList.add("unread");
  }

  function closeConversation(cid, why) {
    var c = convs[cid];
    if (!c || c.closed) return;
    c.closed = true;
    var label = {completed: "会话已结束", transferred: "已转接", abandoned: "客户已离开",
      rescued: "会话已回到队列"}[why] || "会话已关闭";
    addMessage(c, {sender: "system", text: label});
    c.tab.classList.add("closed");
    c.pane.setAttribute("data-closed", "true");
    c.pane.querySelectorAll("button, input, select").forEach(function (n) { n.disabled = true; });
    delete convs[cid];
    saveOpen();
    convs[cid] = c; // keep the pane visible for reading, not restored after a reload
  }

  var notice = sessionStorage.getItem("console.notice");
  if (notice) {
    sessionStorage.removeItem("console.notice");
    $("login-error").textContent = notice;
  }
  var saved = sessionStorage.getItem("console.agent");
  if (saved) {
    try { var a = JSON.parse(saved); login(a.id, a.token); } catch (e) { /* login form */ }
  }
})();
