/* The customer's follow-up page: /feedback?t=<token> (the link of the follow-up message). Shows
 * the ticket's result and asks for a 1–5 rating and an optional comment (router/tickets/api.py:
 * GET /v1/feedback/{token}, POST /v1/feedback). The token is the only key; texts are set with
 * textContent only. */
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var V = JSON.parse($("page-data").textContent).tickets;
  var token = new URLSearchParams(window.location.search).get("t") || "";

  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined && text !== null) n.textContent = String(text);
    return n;
  }

  function call(method, path, body) {
    var init = {method: method, headers: {}};
    if (body) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (data) {
        if (r.ok) return data;
        var e = new Error("HTTP " + r.status);
        e.status = r.status;
        e.code = (data && data.error) || "";
        throw e;
      });
    });
  }

  function refusal(err) {
    if (err.status === 404 || err.status === 422) return V.errors.not_found;
    return V.errors[err.code] || V.errors.unavailable;
  }

  function thanks(reopened) {
    $("form").hidden = true;
    $("done").hidden = false;
    $("done").textContent = reopened ?
      "很抱歉这次处理没能让您满意。我们已重新受理您的问题，专人会尽快与您联系。" :
      "感谢您的评价！您的反馈将帮助我们改进服务。";
    document.body.setAttribute("data-answered", reopened ? "reopened" : "closed");
  }

  // the rating choices, 5 (best) first
  [5, 4, 3, 2, 1].forEach(function (n) {
    var lab = el("label");
    lab.setAttribute("data-testid", "rating-" + n);
    var input = el("input");
    input.type = "radio";
    input.name = "rating";
    input.value = String(n);
    lab.appendChild(input);
    lab.appendChild(el("span", "stars", "★★★★★".slice(0, n)));
    lab.appendChild(el("span", "", V.ratings[String(n)]));
    $("ratings").appendChild(lab);
  });

  if (!/^[A-Za-z0-9_.-]{10,120}$/.test(token)) {
    $("loading").hidden = true;
    $("error").textContent = V.errors.not_found;
    return;
  }

  call("GET", "/v1/feedback/" + encodeURIComponent(token)).then(function (f) {
    $("loading").hidden = true;
    $("ticket").hidden = false;
    $("kind").textContent = f.kind_label || V.kinds[f.kind] || "问题";
    $("ticket-id").textContent = f.ticket_id;
    $("result").textContent = f.result || "—";
    if (f.remedy) {
      $("remedy-box").hidden = false;
      $("remedy").textContent = f.remedy;
    }
    if (f.answered) {
      $("done").hidden = false;
      $("done").textContent = V.errors.already_answered;
      document.body.setAttribute("data-answered", "before");
    } else {
      $("form").hidden = false;
    }
    document.body.setAttribute("data-ready", "true");
  }).catch(function (err) {
    $("loading").hidden = true;
    $("error").textContent = refusal(err);
  });

  $("form").addEventListener("submit", function (e) {
    e.preventDefault();
    var chosen = document.querySelector("input[name=rating]:checked");
    if (!chosen) { $("error").textContent = "请先选择满意度"; return; }
    $("error").textContent = "";
    var body = {token: token, rating: Number(chosen.value)};
    var comment = $("comment").value.trim();
    if (comment) body.comment = comment;
    $("submit").disabled = true;
    call("POST", "/v1/feedback", body).then(function (r) { thanks(r.reopened); })
      .catch(function (err) {
        $("submit").disabled = false;
        if (err.code === "already_answered") { thanks(false); $("done").textContent = V.errors.already_answered; return; }
        $("error").textContent = refusal(err);
      });
  });
})();
