/* Network operations' outages: the list, declaring one (area, service, the cause customers are
 * told, the expected restoration), moving its expected restoration and closing it (every
 * attached fault report is then resolved and its customer told). Data: router/tickets/api.py,
 * a supervisor's token (supervisor.js signs in). Texts are set with textContent only. */
(function () {
  "use strict";
  var S = window.Supervisor;
  var $ = S.$, el = S.el;
  var V = JSON.parse($("page-data").textContent).tickets;
  var CHINA_MS = 8 * 3600 * 1000;

  Object.keys(V.services).forEach(function (id) {
    var o = el("option", "", V.services[id]);
    o.value = id;
    $("declare").elements.service.appendChild(o);
  });

  S.signIn(function () { load(); });
  $("status").addEventListener("change", load);

  function refusal(err) {
    var code = (err.body && err.body.error) || "";
    return V.errors[code] || (err.status >= 500 || !err.status ? V.errors.unavailable :
      "操作未成功（" + (code || err.status) + "）");
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  /* "2026-12-05 10:30" (China time) of an ISO time; "—" for none. */
  function when(iso) {
    if (!iso) return "—";
    return S.chinaTime(Date.parse(iso));
  }

  /* A datetime-local value (China time) as ISO with its offset, and back. */
  function fromLocal(value) { return value ? value + ":00+08:00" : null; }
  function toLocal(iso) {
    if (!iso) return "";
    var d = new Date(Date.parse(iso) + CHINA_MS);
    return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) +
      "T" + pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
  }

  function load(fresh) {
    $("list-error").textContent = "";
    S.api("/v1/outages?status=" + encodeURIComponent($("status").value)).then(function (body) {
      var tbody = $("outages");
      tbody.replaceChildren();
      body.outages.forEach(function (o) { tbody.appendChild(row(o, o.id === fresh)); });
      $("no-outages").hidden = body.outages.length > 0;
      document.body.setAttribute("data-outages", String(body.outages.length));
    }).catch(function (err) { $("list-error").textContent = refusal(err); });
  }

  function row(o, fresh) {
    var tr = el("tr", fresh ? "fresh" : "");
    tr.setAttribute("data-testid", "outage-row");
    tr.setAttribute("data-outage", o.id);
    tr.setAttribute("data-status", o.status);
    tr.appendChild(el("td", "", o.id));
    tr.appendChild(el("td", "", (o.city || "") + " " + (o.district || "")));
    tr.appendChild(el("td", "", o.service_label || V.services[o.service] || o.service));
    tr.appendChild(el("td", "", o.description));
    tr.appendChild(el("td", "", when(o.started_at)));
    var restore = el("td", "", when(o.expected_restore_at));
    restore.setAttribute("data-testid", "outage-restore");
    tr.appendChild(restore);
    var status = el("td", "status-" + o.status,
      o.status === "open" ? "处理中" : "已恢复 " + when(o.closed_at));
    status.setAttribute("data-testid", "outage-status");
    tr.appendChild(status);
    var attached = el("td", "num", o.attached);
    attached.setAttribute("data-testid", "outage-attached");
    tr.appendChild(attached);
    var ops = el("td", "ops");
    if (o.status === "open") ops.appendChild(operations(o));
    tr.appendChild(ops);
    return tr;
  }

  function operations(o) {
    var box = el("div", "ops");
    var err = el("div", "row-error");
    err.setAttribute("data-testid", "outage-error");

    var update = el("form");
    update.noValidate = true;
    var when_ = el("input");
    when_.type = "datetime-local";
    when_.value = toLocal(o.expected_restore_at);
    when_.setAttribute("data-testid", "outage-new-restore");
    var l1 = el("label", "", "预计恢复");
    l1.appendChild(when_);
    update.appendChild(l1);
    var save = el("button", "", "更新时间");
    save.type = "submit";
    save.setAttribute("data-testid", "outage-update");
    update.appendChild(save);
    update.addEventListener("submit", function (e) {
      e.preventDefault();
      if (!when_.value) { err.textContent = "请填写预计恢复时间"; return; }
      change(save, err, "PATCH", "/v1/outages/" + encodeURIComponent(o.id),
        {expected_restore_at: fromLocal(when_.value)}, o.id);
    });

    var close = el("form");
    close.noValidate = true;
    var result = el("input");
    result.maxLength = 200;
    result.placeholder = "网络故障已修复";
    result.setAttribute("data-testid", "outage-result");
    var l2 = el("label", "", "处理结果（告知客户）");
    l2.appendChild(result);
    close.appendChild(l2);
    var done = el("button", "close", "结束故障");
    done.type = "submit";
    done.setAttribute("data-testid", "outage-close");
    close.appendChild(done);
    close.addEventListener("submit", function (e) {
      e.preventDefault();
      var body = result.value.trim() ? {result: result.value.trim()} : {};
      change(done, err, "POST", "/v1/outages/" + encodeURIComponent(o.id) + "/close", body, o.id);
    });

    box.appendChild(update);
    box.appendChild(close);
    box.appendChild(err);
    return box;
  }

  function change(button, err, method, path, body, id) {
    button.disabled = true;
    err.textContent = "";
    S.send(method, path, body).then(function (reply) {
      if (reply && typeof reply.resolved === "number") {
        document.body.setAttribute("data-resolved", String(reply.resolved));
      }
      load(id);
    }).catch(function (e) {
      err.textContent = refusal(e);
      button.disabled = false;
    });
  }

  $("declare").addEventListener("submit", function (e) {
    e.preventDefault();
    var f = $("declare").elements;
    var body = {city: f.city.value.trim(), district: f.district.value.trim(),
      service: f.service.value, description: f.description.value.trim()};
    var missing = [["city", "城市"], ["district", "区县"], ["description", "故障原因"]]
      .filter(function (p) { return !body[p[0]]; }).map(function (p) { return p[1]; });
    if (missing.length) { $("declare-error").textContent = "请填写" + missing.join("、"); return; }
    if (f.expected_restore_at.value) body.expected_restore_at = fromLocal(f.expected_restore_at.value);
    $("declare-error").textContent = "";
    S.send("POST", "/v1/outages", body).then(function (o) {
      $("declare").reset();
      $("status").value = "open";
      load(o.id);
    }).catch(function (err) { $("declare-error").textContent = refusal(err); });
  });
})();
