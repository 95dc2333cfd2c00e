/* The analyst's page (/analyst): the token sign-in, the inbox with its filters, one-click
 * annotation (confirm, another intent, none of these, a new intent), the double-annotation
 * queue. The agreement, its disagreements to settle and the export of a training batch are
 * analyst-agreement.js; the models panel is analyst-models.js. The token is kept in sessionStorage (this tab only)
 * and sent in a header, never in a URL. Every text from the server is set with textContent. */
(function () {
  "use strict";
  var KEY = "analyst.auth";
  var PAGE = 20;
  var A = {auth: null, signedIn: false};
  var DATA = JSON.parse(document.getElementById("page-data").textContent);
  A.INTENTS = DATA.labels.intents;
  var REASONS = {fallback: "未识别（兜底）", low_confidence: "置信度低", small_margin: "前两名接近",
    handoff_after: "答后转人工", poor_rating: "机器人服务差评", low_asr: "语音识别置信度低"};
  var STATUSES = {open: "待标注", annotated: "已标注", double: "待复核", disputed: "有分歧",
    settled: "已裁定", exported: "已导出"};
  var DECISIONS = {confirm: "确认", correct: "更正为", none: "都不是", new_intent: "新意图"};
  var ERRORS = {no_such_item: "这条消息已不存在", archive_unavailable: "存档库暂时不可用，请稍后再试",
    validation_error: "填写的内容有误，请检查后重试", forbidden: "您没有权限执行此操作",
    already_annotated: "您已经标注过这条消息", retrain_running: "已有一次训练正在进行",
    gate_failed: "该模型未通过上线门槛，不能上线", exported: "这条消息已导出，不能再修改",
    not_disputed: "这条消息没有分歧，无需裁定", no_such_model: "模型不存在",
    nothing_to_roll_back: "没有可回滚的上一个模型"};

  A.$ = function (id) { return document.getElementById(id); };

  A.el = function (tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined && text !== null) n.textContent = String(text);
    return n;
  };

  A.intentLabel = function (name) {
    if (!name) return "—";
    return A.INTENTS[name] ? A.INTENTS[name] + "（" + name + "）" : name;
  };

  A.percent = function (v) {
    return typeof v === "number" ? (v * 100).toFixed(1) + "%" : "—";
  };

  /* A refusal as people read it (its code), else the HTTP status. */
  A.message = function (err) {
    var code = err && err.body && err.body.error;
    if (code && ERRORS[code]) return ERRORS[code];
    if (err && err.status === 401) return "登录已失效，请重新登录";
    if (err && err.status) return "操作失败（HTTP " + err.status + (code ? "，" + code : "") + "）";
    return "无法连接服务器";
  };

  function fail(r, body) {
    var e = new Error("HTTP " + r.status);
    e.status = r.status;
    e.body = body || null;
    if (r.status === 401 && A.signedIn) A.signOut();
    throw e;
  }

  /* GET (no body) or a change with a JSON body; resolves to the reply's JSON. */
  A.api = function (path, method, body) {
    var init = {method: method || "GET", headers: {Authorization: "Bearer " + A.auth.token}};
    if (method && method !== "GET") {
      init.body = JSON.stringify(body || {});
      init.headers["Content-Type"] = "application/json";
    }
    return fetch(path, init).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (data) {
        return r.ok ? data : fail(r, data);
      });
    });
  };

  A.signOut = function () {
    sessionStorage.removeItem(KEY);
    A.auth = null;
    window.location.reload();
  };

  /* -- tabs ---------------------------------------------------------------------------------- */
  var loaders = {};
  A.onTab = function (name, load) { loaders[name] = load; };

  function show(name) {
    Array.prototype.forEach.call(document.querySelectorAll("#tabs button"), function (b) {
      var on = b.getAttribute("data-tab") === name;
      b.setAttribute("aria-selected", on ? "true" : "false");
      A.$("tab-" + b.getAttribute("data-tab")).hidden = !on;
    });
    if (loaders[name]) loaders[name]();
  }

  /* -- one item to annotate: its text, what the assistant read, and the decisions ----------- */

  /* The text with each placeholder ({phone_number}) shown as an entity chip. */
  function textNode(text) {
    var p = A.el("p", "text");
    var re = /\{([a-z_0-9]+)\}/g, last = 0, m;
    while ((m = re.exec(text)) !== null) {
      p.appendChild(document.createTextNode(text.slice(last, m.index)));
      p.appendChild(A.el("span", "ph", m[0]));
      last = re.lastIndex;
    }
    p.appendChild(document.createTextNode(text.slice(last)));
    return p;
  }

  /* Entities besides the placeholders (those are entities already): a piece of the text and
   * its entity name, added as chips; sent with a confirm or a correction as offsets. */
  function entityPicker(text) {
    var box = A.el("div", "entities"), chosen = [];
    var piece = A.el("input");
    piece.placeholder = "文中的词，如 流量包";
    piece.setAttribute("data-testid", "entity-text");
    var name = A.el("input");
    name.placeholder = "实体名，如 plan_name";
    name.setAttribute("data-testid", "entity-name");
    var add = button("添加实体", "add-entity");
    var chips = A.el("span");
    var note = A.el("span", "error");
    [piece, name, add, chips, note].forEach(function (n) { box.appendChild(n); });
    add.addEventListener("click", function () {
      var start = text.indexOf(piece.value), entity = name.value.trim();
      note.textContent = "";
      if (!piece.value || start < 0) { note.textContent = "文中没有这段文字"; return; }
      if (!/^[a-z][a-z0-9_]{0,63}$/.test(entity)) { note.textContent = "实体名应为小写字母、数字和下划线"; return; }
      chosen.push({entity: entity, start: start, end: start + piece.value.length});
      var chip = A.el("span", "badge", piece.value + " → " + entity);
      chip.setAttribute("data-testid", "entity-chip");
      chips.appendChild(chip);
      piece.value = "";
      name.value = "";
    });
    return {node: box, controls: [piece, name, add],
      chosen: function () { return chosen.slice(); }};
  }

  function intentSelect(prompt) {
    var select = A.el("select");
    select.setAttribute("data-testid", "intent-select");
    select.appendChild(A.el("option", null, prompt || "选择其他意图…")).value = "";
    Object.keys(A.INTENTS).forEach(function (name) {
      if (name === "nlu_fallback") return;
      var o = A.el("option", null, A.INTENTS[name] + "（" + name + "）");
      o.value = name;
      select.appendChild(o);
    });
    return select;
  }

  function button(text, testid, cls) {
    var b = A.el("button", cls || null, text);
    b.type = "button";
    b.setAttribute("data-testid", testid);
    return b;
  }

  /* A card of one inbox group or queued item, with its decisions; `done(decision)` after one
   * is recorded. */
  A.card = function (item, done) {
    var li = A.el("li", "card");
    li.setAttribute("data-testid", "item");
    li.setAttribute("data-key", item.key);
    li.appendChild(textNode(item.text || ""));
    var meta = A.el("div", "meta");
    if (item.count > 1) meta.appendChild(A.el("span", "badge", "相似 " + item.count + " 条"));
    (item.reasons || []).forEach(function (r) {
      meta.appendChild(A.el("span", "badge reason", REASONS[r] || r));
    });
    var predicted = item.predicted_intent || item.intent || null;
    // a fallback's confidence is the fallback threshold, not a reading: not shown
    var shown = typeof item.confidence === "number" && predicted !== "nlu_fallback";
    meta.appendChild(A.el("span", null, "助手判断：" + A.intentLabel(predicted) +
      (shown ? "，置信度 " + A.percent(item.confidence) : "")));
    if (item.status) {
      var st = A.el("span", "badge status-" + item.status, STATUSES[item.status] || item.status);
      st.setAttribute("data-testid", "item-status");
      meta.appendChild(st);
    }
    li.appendChild(meta);
    if (item.examples && item.examples.length) {
      var details = A.el("details");
      details.appendChild(A.el("summary", null, "例子（" + item.examples.length + "）"));
      var table = A.el("table");
      item.examples.forEach(function (e) {
        var tr = A.el("tr");
        tr.appendChild(A.el("td", null, e.conversation_id));
        tr.appendChild(A.el("td", null, e.ts_ms ? new Date(e.ts_ms).toLocaleString("zh-CN") : ""));
        tr.appendChild(A.el("td", null, A.intentLabel(e.intent)));
        tr.appendChild(A.el("td", null, A.percent(e.confidence)));
        table.appendChild(tr);
      });
      details.appendChild(table);
      li.appendChild(details);
    }
    var entities = entityPicker(item.text || "");
    var row = A.el("div", "decide");
    var confirm = button("确认：" + A.intentLabel(predicted), "confirm", "confirm");
    confirm.disabled = !predicted || predicted === "nlu_fallback" || !A.INTENTS[predicted];
    var select = intentSelect();
    var correct = button("改为此意图", "correct");
    var none = button("都不是", "none");
    var newName = A.el("input");
    newName.placeholder = "新意图名，如 query_invoice";
    newName.setAttribute("data-testid", "new-intent-name");
    var fresh = button("新意图", "new-intent");
    var result = A.el("span", "result");
    result.setAttribute("data-testid", "item-result");
    [confirm, select, correct, none, newName, fresh, result].forEach(function (n) {
      row.appendChild(n);
    });
    li.appendChild(row);
    li.appendChild(entities.node);
    var controls = [confirm, select, correct, none, newName, fresh].concat(entities.controls);

    function decide(body, shown) {
      body.key = item.key;
      if (body.decision === "confirm" || body.decision === "correct") body.entities = entities.chosen();
      controls.forEach(function (c) { c.disabled = true; });
      result.className = "result";
      result.textContent = "保存中…";
      A.api("/v1/annotations", "POST", body).then(function (recorded) {
        li.classList.add("done");
        result.textContent = "已记录：" + shown;
        var badge = li.querySelector("[data-testid=item-status]");
        if (badge && recorded && recorded.status) {
          badge.className = "badge status-" + recorded.status;
          badge.textContent = STATUSES[recorded.status] || recorded.status;
        }
        if (done) done(body.decision);
      }).catch(function (err) {
        controls.forEach(function (c) { c.disabled = false; });
        confirm.disabled = !predicted || !A.INTENTS[predicted] || predicted === "nlu_fallback";
        result.className = "result error";
        result.textContent = A.message(err);
      });
    }
    confirm.addEventListener("click", function () {
      decide({decision: "confirm", intent: predicted}, "确认 " + A.intentLabel(predicted));
    });
    correct.addEventListener("click", function () {
      if (!select.value) { result.className = "result error"; result.textContent = "请先选择意图"; return; }
      decide({decision: "correct", intent: select.value}, "更正为 " + A.intentLabel(select.value));
    });
    none.addEventListener("click", function () { decide({decision: "none"}, "都不是"); });
    fresh.addEventListener("click", function () {
      var name = newName.value.trim();
      if (!/^[a-z][a-z0-9_]{1,63}$/.test(name) || A.INTENTS[name]) {
        result.className = "result error";
        result.textContent = "新意图名应为小写字母、数字和下划线，且不能与已有意图重名";
        return;
      }
      decide({decision: "new_intent", new_intent: name}, "新意图 " + name);
    });
    return li;
  };

  A.textNode = textNode;
  A.intentSelect = intentSelect;
  A.button = button;
  A.DECISIONS = DECISIONS;

  /* -- the inbox ----------------------------------------------------------------------------- */
  var offset = 0;

  function inboxQuery() {
    var reasons = Array.prototype.filter.call(
      document.querySelectorAll("#reasons input"), function (c) { return c.checked; })
      .map(function (c) { return c.value; });
    var params = new URLSearchParams({limit: String(PAGE), offset: String(offset)});
    if (reasons.length) params.set("reason", reasons.join(","));
    if (A.$("status").value) params.set("status", A.$("status").value);
    if (A.$("search").value.trim()) params.set("q", A.$("search").value.trim());
    return params.toString();
  }

  function loadInbox() {
    A.$("inbox-error").textContent = "";
    return A.api("/v1/inbox?" + inboxQuery()).then(function (groups) {
      var list = A.$("groups");
      list.replaceChildren();
      groups.forEach(function (g) { list.appendChild(A.card(g)); });
      A.$("no-groups").hidden = groups.length > 0;
      A.$("prev").disabled = offset === 0;
      A.$("next").disabled = groups.length < PAGE;
      A.$("page-no").textContent = "第 " + (offset / PAGE + 1) + " 页";
    }).catch(function (err) { A.$("inbox-error").textContent = A.message(err); });
  }

  function setUpInbox() {
    Object.keys(REASONS).forEach(function (name) {
      var label = A.el("label", null, " " + REASONS[name]);
      var check = document.createElement("input");
      check.type = "checkbox";
      check.value = name;
      check.setAttribute("data-testid", "reason-" + name);
      label.insertBefore(check, label.firstChild);
      A.$("reasons").appendChild(label);
    });
    Object.keys(STATUSES).forEach(function (name) {
      A.$("status").appendChild(A.el("option", null, STATUSES[name])).value = name;
    });
    A.$("filters").addEventListener("submit", function (e) {
      e.preventDefault();
      offset = 0;
      loadInbox();
    });
    A.$("prev").addEventListener("click", function () { offset = Math.max(0, offset - PAGE); loadInbox(); });
    A.$("next").addEventListener("click", function () { offset += PAGE; loadInbox(); });
    A.onTab("inbox", loadInbox);
  }

  /* -- the double-annotation queue ----------------------------------------------------------- */
  function loadReview() {
    A.$("review-error").textContent = "";
    return A.api("/v1/annotations/next?limit=20").then(function (items) {
      var list = A.$("review");
      list.replaceChildren();
      items.forEach(function (item) { list.appendChild(A.card(item)); });
      A.$("no-review").hidden = items.length > 0;
    }).catch(function (err) { A.$("review-error").textContent = A.message(err); });
  }

  /* -- sign-in ------------------------------------------------------------------------------- */
  function enter(auth) {
    A.auth = auth;
    return A.api("/v1/analysts/" + encodeURIComponent(auth.id)).then(function (me) {
      sessionStorage.setItem(KEY, JSON.stringify(auth));
      A.signedIn = true;
      A.$("login").hidden = true;
      A.$("app").hidden = false;
      A.$("tabs").hidden = false;
      A.$("logout").hidden = false;
      A.$("me").textContent = me.display_name + "（" + me.analyst_id + "）";
      document.body.setAttribute("data-analyst", me.analyst_id);
      show("inbox");
    });
  }

  function start() {
    setUpInbox();
    A.onTab("review", loadReview);
    Array.prototype.forEach.call(document.querySelectorAll("#tabs button"), function (b) {
      b.addEventListener("click", function () { show(b.getAttribute("data-tab")); });
    });
    A.$("login").addEventListener("submit", function (e) {
      e.preventDefault();
      enter({id: A.$("aid").value.trim(), token: A.$("token").value.trim()}).catch(function (err) {
        A.auth = null;
        A.$("login-error").textContent = err.status === 401 || err.status === 403 ?
          "账号或令牌不正确" : "无法连接服务器";
      });
    });
    A.$("logout").addEventListener("click", A.signOut);
    var saved = sessionStorage.getItem(KEY);
    if (saved) {
      try { enter(JSON.parse(saved)).catch(function () { sessionStorage.removeItem(KEY); }); }
      catch (e) { sessionStorage.removeItem(KEY); }
    }
  }

  window.Analyst = A;
  document.addEventListener("DOMContentLoaded", start);
})();
