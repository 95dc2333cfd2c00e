/* The analyst page's agreement panel: Cohen's kappa of the double-annotated sample, the
 * disagreements to settle, and the export of accepted annotations as a training batch. Uses
 * analyst.js (window.Analyst); every text is set with textContent. */
(function () {
  "use strict";
  var A = window.Analyst;

  function tile(label, value, detail, testid) {
    var t = A.el("div", "tile");
    t.setAttribute("data-testid", testid);
    t.appendChild(A.el("div", "label", label));
    t.appendChild(A.el("div", "value", value));
    if (detail) t.appendChild(A.el("div", "detail", detail));
    return t;
  }

  function kappaWords(k, n) {
    if (typeof k !== "number") return "样本不足，暂不能计算";
    if (n < 10) return "双人标注不足 10 条，仅供参考";
    if (k >= 0.8) return "一致性很好";
    if (k >= 0.6) return "一致性较好";
    if (k >= 0.4) return "一致性一般，建议统一标注规范";
    return "一致性偏低，请复查标注规范";
  }

  function decisionText(d) {
    var what = A.DECISIONS[d.decision] || d.decision || "";
    if (d.decision === "confirm" || d.decision === "correct") what += " " + A.intentLabel(d.intent);
    if (d.decision === "new_intent") what += " " + (d.new_intent || "");
    return (d.analyst_id || "") + "：" + what;
  }

  function settleRow(item) {
    var tr = A.el("tr");
    tr.setAttribute("data-testid", "disagreement");
    tr.setAttribute("data-key", item.key);
    var text = A.el("td");
    text.appendChild(A.textNode(item.text || ""));
    tr.appendChild(text);
    var who = A.el("td");
    (item.annotations || item.decisions || []).forEach(function (d) {
      who.appendChild(A.el("div", null, decisionText(d)));
    });
    tr.appendChild(who);
    var cell = A.el("div", "decide");
    var select = A.intentSelect("选择裁定的意图…");
    var go = A.button("裁定", "settle");
    var result = A.el("span", "result");
    cell.appendChild(select);
    cell.appendChild(go);
    cell.appendChild(result);
    tr.appendChild(A.el("td")).appendChild(cell);
    go.addEventListener("click", function () {
      if (!select.value) { result.textContent = "请先选择意图"; return; }
      go.disabled = true;
      A.api("/v1/annotations/settle", "POST", {key: item.key, intent: select.value}).then(function () {
        result.textContent = "已裁定为 " + A.intentLabel(select.value);
        loadAgreement();
      }).catch(function (err) { go.disabled = false; result.textContent = A.message(err); });
    });
    return tr;
  }

  function loadAgreement() {
    A.$("agreement-error").textContent = "";
    return Promise.all([A.api("/v1/annotations/agreement"), A.api("/v1/annotations/disagreements")])
      .then(function (found) {
        var a = found[0], items = found[1];
        var k = typeof a.kappa === "number" ? a.kappa.toFixed(2) : "—";
        A.$("agreement").replaceChildren(
          tile("Cohen's kappa", k, kappaWords(a.kappa, a.items), "kappa"),
          tile("双人标注的消息", a.items, null, "double-items"),
          tile("两人一致", a.agreed, a.items ? A.percent(a.agreed / a.items) : null, "agreed"));
        var body = A.$("disagreements");
        body.replaceChildren();
        items.forEach(function (item) { body.appendChild(settleRow(item)); });
        A.$("no-disagreements").hidden = items.length > 0;
      }).catch(function (err) { A.$("agreement-error").textContent = A.message(err); });
  }

  function exportBatch() {
    A.$("export").disabled = true;
    A.api("/v1/annotations/export", "POST", {}).then(function (r) {
      A.$("export-result").textContent = r.file ?
        "已导出 " + r.count + " 条训练样例：" + r.file + "（请提交评审）" : "没有新的可导出标注。";
    }).catch(function (err) { A.$("export-result").textContent = A.message(err); })
      .then(function () { A.$("export").disabled = false; });
  }

  A.onTab("agreement", loadAgreement);
  A.$("export").addEventListener("click", exportBatch);
})();
