/* The analyst page's models panel (router/analysis/models.py): the registry's models with their
 * metrics and gate, a retraining with its progress, the challenger-vs-champion report, promotion
 * and rollback. Uses analyst.js (window.Analyst); every text is set with textContent. */
(function () {
  "use strict";
  var A = window.Analyst;
  var SETS = {blind: "盲测集（eval/blind）", holdout: "留出集（eval/nlu_holdout）"};
  var STATES = {idle: "未在训练", running: "启动中", training: "训练中", evaluating: "评测中",
    done: "已完成", failed: "失败"};
  var polling = null;
  var shown = null; // the model whose report is open

  function f3(v) { return typeof v === "number" ? v.toFixed(3) : "—"; }

  function signed(v) {
    if (typeof v !== "number") return A.el("span", null, "—");
    var s = A.el("span", v > 0.0005 ? "up" : v < -0.0005 ? "down" : null, (v > 0 ? "+" : "") + v.toFixed(3));
    return s;
  }

  function cells(tr, values) {
    values.forEach(function (v) {
      var td = A.el("td", typeof v === "number" ? "num" : null);
      if (v instanceof Node) td.appendChild(v); else td.textContent = v === null || v === undefined ? "—" : String(v);
      tr.appendChild(td);
    });
    return tr;
  }

  function time(iso) {
    if (!iso) return "—";
    var d = new Date(iso);
    return isNaN(d.getTime()) ? String(iso) : d.toLocaleString("zh-CN");
  }

  /* -- the list ------------------------------------------------------------------------------ */
  function gateBadge(gate) {
    if (!gate || gate.passed === undefined || gate.passed === null) return A.el("span", "badge", "未评测");
    return A.el("span", "badge " + (gate.passed ? "passed" : "failed"), gate.passed ? "通过" : "未通过");
  }

  function row(model, service) {
    var blind = (model.metrics || {}).blind || {};
    var tr = A.el("tr");
    tr.setAttribute("data-testid", "model");
    tr.setAttribute("data-model", model.model_id);
    var status = model.model_id === service ? A.el("span", "badge service", "服务中") :
      A.el("span", null, model.promoted_at ? "曾上线" : "");
    if (model.model_id === service) tr.setAttribute("data-service", "true");
    var actions = A.el("span", "decide");
    var report = A.el("button", null, "对比报告");
    report.type = "button";
    report.setAttribute("data-testid", "show-report");
    report.addEventListener("click", function () { showReport(model.model_id); });
    actions.appendChild(report);
    if (model.model_id !== service) {
      var promote = A.el("button", "confirm", "上线");
      promote.type = "button";
      promote.setAttribute("data-testid", "promote");
      promote.disabled = !(model.gate && model.gate.passed);
      promote.title = promote.disabled ? "未通过上线门槛" : "所有助手实例逐一加载此模型，对话不中断";
      promote.addEventListener("click", function () { change("/v1/models/" + encodeURIComponent(model.model_id) + "/promote"); });
      actions.appendChild(promote);
    }
    return cells(tr, [model.model_id, time(model.created_at), f3(blind.accuracy), f3(blind.macro_f1),
      gateBadge(model.gate), status, actions]);
  }

  function load() {
    A.$("models-error").textContent = "";
    return A.api("/v1/models").then(function (found) {
      var body = A.$("models");
      body.replaceChildren();
      var models = found.models || []; // newest first (the registry's order)
      models.forEach(function (m) { body.appendChild(row(m, found.service)); });
      A.$("no-models").hidden = models.length > 0;
      A.$("rollback").disabled = !(found.history || []).length;
      if (shown) showReport(shown);
    }).catch(function (err) { A.$("models-error").textContent = A.message(err); });
  }

  /* -- the comparison report ----------------------------------------------------------------- */
  function table(head, rows) {
    var t = A.el("table", "grid");
    var tr = A.el("tr");
    head.forEach(function (h) { tr.appendChild(A.el("th", null, h)); });
    t.appendChild(A.el("thead")).appendChild(tr);
    var body = t.appendChild(A.el("tbody"));
    rows.forEach(function (r) { body.appendChild(cells(A.el("tr"), r)); });
    return t;
  }

  function changes(title, list, testid) {
    var box = A.el("div");
    box.setAttribute("data-testid", testid);
    box.appendChild(A.el("h3", null, title + "：" + list.length + " 条"));
    if (list.length) {
      box.appendChild(table(["编号", "消息", "标注意图", "现役模型", "挑战者"], list.map(function (r) {
        return [r.id, r.text, r.intent, r.champion, r.challenger];
      })));
    }
    return box;
  }

  function setSection(name, c) {
    var box = A.el("div");
    box.setAttribute("data-testid", "report-set-" + name);
    box.appendChild(A.el("h3", null, (SETS[name] || name) + "：" + c.champion.n + " 条"));
    box.appendChild(table(["指标", "现役模型", "挑战者", "变化"], [
      ["准确率", f3(c.champion.accuracy), f3(c.challenger.accuracy), signed(c.delta.accuracy)],
      ["宏平均 F1", f3(c.champion.macro_f1), f3(c.challenger.macro_f1), signed(c.delta.macro_f1)]]));
    var m = c.mcnemar || {};
    box.appendChild(A.el("p", "hint", "McNemar 检验（" + (m.method || "") + "）：仅现役模型答对 " +
      m.champion_only + " 条，仅挑战者答对 " + m.challenger_only + " 条，p = " +
      (typeof m.p === "number" ? m.p.toFixed(4) : "—")));
    box.appendChild(table(["意图", "样本数", "现役 F1", "挑战者 F1", "变化"],
      Object.keys(c.champion.per_intent).map(function (i) {
        return [A.intentLabel(i), c.champion.per_intent[i].n, f3(c.champion.per_intent[i].f1),
          f3((c.challenger.per_intent[i] || {}).f1), signed(c.delta.per_intent[i])];
      })));
    box.appendChild(changes("改对的消息", c.fixed || [], "fixed-" + name));
    box.appendChild(changes("改错的消息", c.broken || [], "broken-" + name));
    return box;
  }

  function showReport(modelId) {
    shown = modelId;
    var box = A.$("report");
    return A.api("/v1/models/" + encodeURIComponent(modelId)).then(function (d) {
      box.replaceChildren();
      box.hidden = false;
      box.appendChild(A.el("h3", null, "模型 " + modelId + (d.service ? "（服务中）" : "")));
      var r = d.report;
      if (!r) {
        box.appendChild(A.el("p", "empty", "这个模型没有对比报告（不是由重新训练产生的）。"));
        return;
      }
      box.appendChild(A.el("p", null, "与现役模型 " + r.champion_id + " 对比；上线门槛：" +
        (r.gate.passed ? "通过" : "未通过")));
      var reasons = A.el("ul");
      (r.gate.reasons || []).forEach(function (why) { reasons.appendChild(A.el("li", null, why)); });
      box.appendChild(reasons);
      var t = r.conversation_tests || {};
      if (t.stories !== undefined) {
        box.appendChild(A.el("p", null, "对话测试：" + (t.stories - (t.failed || []).length) + "/" +
          t.stories + " 通过" + ((t.failed || []).length ? "（失败：" + t.failed.join("、") + "）" : "")));
      }
      Object.keys(r.sets || {}).forEach(function (name) { box.appendChild(setSection(name, r.sets[name])); });
    }).catch(function (err) { A.$("models-error").textContent = A.message(err); });
  }

  /* -- retraining ---------------------------------------------------------------------------- */
  function progress(status) {
    var p = status.progress || {};
    A.$("progress").hidden = !status.running && (!p.state || p.state === "idle");
    var share = p.steps ? Math.min(1, (p.step || 0) / p.steps) : 0;
    A.$("progress-bar").style.width = Math.round(share * 100) + "%";
    A.$("progress-text").textContent = (STATES[p.state] || p.state || "准备中") +
      (p.steps ? "（" + (p.step || 0) + "/" + p.steps + "）" : "") + (p.message ? "：" + p.message : "");
    A.$("progress").setAttribute("data-state", p.state || "");
    A.$("progress-log").textContent = (status.log || []).join("\n");
    A.$("retrain").disabled = !!status.running;
    if (!status.running && polling) {
      window.clearInterval(polling);
      polling = null;
      if (p.model_id) shown = p.model_id;
      load();
    }
  }

  function poll() {
    return A.api("/v1/models/retrain").then(progress)
      .catch(function (err) { A.$("models-error").textContent = A.message(err); });
  }

  function follow() {
    if (!polling) polling = window.setInterval(poll, 2000);
  }

  function retrain() {
    A.$("retrain").disabled = true;
    A.$("models-error").textContent = "";
    A.api("/v1/models/retrain", "POST", {}).then(function (status) {
      progress(status);
      follow();
    }).catch(function (err) {
      A.$("retrain").disabled = false;
      A.$("models-error").textContent = A.message(err);
      if (err.body && err.body.error === "retrain_running") follow();
    });
  }

  /* -- promotion and rollback ---------------------------------------------------------------- */
  function loaded(r) {
    return (r.loaded || []).map(function (l) {
      return l.instance + (l.ok ? " 已加载" : " 加载失败" + (l.error ? "（" + l.error + "）" : ""));
    }).join("；");
  }

  function change(path) {
    A.$("models-error").textContent = "";
    A.$("models-result").textContent = "正在让每个助手实例加载模型…";
    A.api(path, "POST", {}).then(function (r) {
      A.$("models-result").textContent = "服务模型：" + r.service + "。" + loaded(r);
      load();
    }).catch(function (err) {
      A.$("models-result").textContent = err.body && err.body.loaded ? loaded(err.body) : "";
      A.$("models-error").textContent = err.body && err.body.error === "nothing_to_roll_back" ?
        "没有可回滚的上一个模型" : err.body && err.body.error === "model_load_failed" ?
        "部分助手实例未能加载模型（服务模型已切换，实例重启后加载）" : A.message(err);
      load();
    });
  }

  A.$("retrain").addEventListener("click", retrain);
  A.$("rollback").addEventListener("click", function () { change("/v1/models/rollback"); });
  A.onTab("models", function () {
    load();
    poll().then(function () { if (!A.$("retrain").disabled) return; follow(); });
  });
})();
