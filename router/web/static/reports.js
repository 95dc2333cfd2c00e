/* The reports page: the headline numbers, their time series (Chart.js, served by the router),
 * the intent mix and the agent scorecard over the archive, for a window and filters. Every
 * number opens the conversations behind it (the drill-down), and each of those its masked
 * transcript; every table downloads as CSV. */
(function () {
  "use strict";
  var S = window.Supervisor;
  var $ = S.$, el = S.el;
  var DAY_MS = 86400000;
  var FILTERS = ["queue", "skill", "channel", "agent", "intent"];
  var PAGE = 20;
  // the metrics the trend charts draw (renderSeries), asked for by name
  var CSAT_SERIES = ["csat", "csat_agent", "csat_bot", "csat_follow_up"];
  var TICKET_SERIES = ["ticket_escalations", "ticket_breaches_respond", "ticket_breaches_resolve",
    "ticket_breaches_follow_up"];
  var SERIES = ["conversations", "containment", "service_level"].concat(CSAT_SERIES, TICKET_SERIES);
  var labels = {};   // metric -> {label, unit}, from the summary
  var charts = {};
  var drill = null;  // {metric, part, bucket_start, extra, offset, total}

  /* The filters that choose among known ids (queues and skills, channels, intents) list them
   * by label; an id the reports take by pattern only (faq's sub-intents) is left out. */
  document.querySelectorAll("select[data-labels]").forEach(function (select) {
    var table = S.LABELS[select.getAttribute("data-labels")];
    Object.keys(table).forEach(function (id) {
      if (!/^[a-z0-9_]{1,64}$/.test(id)) return;
      var option = el("option", "", table[id]);
      option.value = id;
      select.appendChild(option);
    });
  });

  S.signIn(function () {
    var today = S.chinaTime(Date.now(), "date");
    $("f-end").value = today;
    $("f-start").value = S.chinaTime(Date.now() - 6 * DAY_MS, "date");
    load();
  });

  $("filters").addEventListener("submit", function (e) { e.preventDefault(); load(); });
  $("drill-close").addEventListener("click", function () { $("drill").hidden = true; });
  $("t-close").addEventListener("click", function () { $("transcript").hidden = true; });
  $("drill-prev").addEventListener("click", function () { page(-PAGE); });
  $("drill-next").addEventListener("click", function () { page(PAGE); });
  $("drill-csv").addEventListener("click", function () {
    S.download(drillPath(drill, 500, 0) + "&format=csv").catch(showError);
  });
  Array.prototype.forEach.call(document.querySelectorAll("button.csv[data-report]"), function (b) {
    b.addEventListener("click", function () {
      var report = b.getAttribute("data-report");
      var extra = report === "timeseries" ?
        "&bucket=" + $("f-bucket").value + "&metrics=" + SERIES.join(",") : "";
      S.download("/v1/supervisor/reports/" + report + "?" + query() + extra + "&format=csv")
        .catch(showError);
    });
  });

  /* The window and filters as a query string (`extra` overrides some). */
  function query(extra) {
    var p = new URLSearchParams();
    p.set("start", $("f-start").value);
    p.set("end", $("f-end").value);
    FILTERS.forEach(function (name) {
      var v = $("f-" + name).value.trim();
      if (v) p.set(name, v);
    });
    Object.keys(extra || {}).forEach(function (k) { p.set(k, extra[k]); });
    return p.toString();
  }

  function showError(err) {
    var box = $("error");
    if (err && err.status === 422 && err.body && err.body.fields) {
      box.textContent = err.body.fields.map(function (f) { return f.field + "：" + f.message; }).join("；");
    } else if (err && err.status === 503) {
      box.textContent = "服务档案暂时不可用，请稍后再试。";
    } else {
      box.textContent = "加载失败" + (err && err.status ? "（" + err.status + "）" : "");
    }
  }

  function load() {
    $("error").textContent = "";
    document.body.setAttribute("data-loaded", "no");
    var q = query();
    var bucket = $("f-bucket").value;
    Promise.all([
      S.api("/v1/supervisor/reports/summary?" + q),
      S.api("/v1/supervisor/reports/timeseries?" + q + "&bucket=" + bucket + "&metrics=" +
        SERIES.join(",")),
      S.api("/v1/supervisor/reports/intents?" + q),
      S.api("/v1/supervisor/reports/scorecard?" + q),
    ]).then(function (found) {
      renderSummary(found[0]);
      renderSeries(found[1], bucket);
      renderIntents(found[2]);
      renderScorecard(found[3]);
      document.body.setAttribute("data-loaded", "yes");
    }).catch(showError);
  }

  // -- numbers that open their conversations ----------------------------------------------------
  function numberButton(text, metric, part, extra, bucketStart) {
    var b = el("button", "num", text);
    b.type = "button";
    b.setAttribute("data-metric", metric);
    b.setAttribute("data-part", part);
    b.addEventListener("click", function () {
      openDrill({metric: metric, part: part, extra: extra || {}, bucket_start: bucketStart,
        offset: 0});
    });
    return b;
  }

  function renderSummary(summary) {
    var box = $("summary");
    box.replaceChildren();
    Object.keys(summary).forEach(function (name) {
      var m = summary[name];
      labels[name] = {label: m.label, unit: m.unit};
      var t = el("div", "tile");
      t.setAttribute("data-testid", "metric-" + name);
      t.appendChild(el("div", "label", m.label));
      var value = el("div", "value");
      value.appendChild(numberButton(S.format(m.value, m.unit), name, "numerator"));
      t.appendChild(value);
      var detail = el("div", "detail");
      if (m.denominator !== null && m.denominator !== undefined && m.unit === "%") {
        detail.appendChild(numberButton(String(m.numerator), name, "numerator"));
        detail.appendChild(document.createTextNode(" / "));
        detail.appendChild(numberButton(String(m.denominator), name, "denominator"));
      } else if (m.denominator !== null && m.denominator !== undefined) {
        // a mean: its numerator is a sum of durations; what it is over is worth a link
        detail.appendChild(document.createTextNode("基于 "));
        detail.appendChild(numberButton(String(m.denominator), name, "denominator"));
        detail.appendChild(document.createTextNode(" 个"));
      }
      if (m.target !== null && m.target !== undefined) {
        detail.appendChild(document.createTextNode("　目标 " + S.format(m.target, m.unit)));
      }
      t.appendChild(detail);
      box.appendChild(t);
    });
  }

  // -- charts -------------------------------------------------------------------------------------
  var COLORS = ["#1d4ed8", "#0a7d32", "#b45309", "#7c3aed", "#be123c"];

  function bucketLabel(ms, bucket, oneDay) {
    if (bucket === "day") return S.chinaTime(ms, "date");
    return oneDay ? S.chinaTime(ms, "time") : S.chinaTime(ms);
  }

  function drawChart(id, type, series, names, bucket) {
    if (charts[id]) charts[id].destroy();
    var datasets = names.map(function (name, i) {
      var meta = series.metrics[name];
      return {label: meta.label, data: series.series[name], metric: name,
        borderColor: COLORS[i], backgroundColor: type === "bar" ? COLORS[i] + "99" : COLORS[i],
        spanGaps: true, tension: 0.2};
    });
    var target = series.metrics[names[0]].target;
    if (target !== null && target !== undefined) {
      datasets.push({label: "目标", data: series.buckets.map(function () { return target; }),
        borderColor: "#9ca3af", borderDash: [6, 4], pointRadius: 0, type: "line"});
    }
    var unit = series.metrics[names[0]].unit;
    var first = series.buckets[0], last = series.buckets[series.buckets.length - 1];
    var oneDay = first !== undefined && S.chinaTime(first, "date") === S.chinaTime(last, "date");
    charts[id] = new window.Chart($(id), {
      type: type,
      data: {labels: series.buckets.map(function (b) { return bucketLabel(b, bucket, oneDay); }),
        datasets: datasets},
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        interaction: {mode: "nearest", intersect: false},
        scales: {y: {beginAtZero: true, max: unit === "%" ? 100 : undefined}},
        onClick: function (_event, elements, chart) {
          var hit = elements.filter(function (e) {
            return chart.data.datasets[e.datasetIndex].metric;
          })[0];
          if (!hit) return;
          var metric = chart.data.datasets[hit.datasetIndex].metric;
          openDrill({metric: metric, part: "numerator", extra: {bucket: bucket},
            bucket_start: series.buckets[hit.index], offset: 0});
        },
      },
    });
  }

  function renderSeries(series, bucket) {
    drawChart("chart-volume", "bar", series, ["conversations"], bucket);
    drawChart("chart-containment", "line", series, ["containment"], bucket);
    drawChart("chart-service", "line", series, ["service_level"], bucket);
    drawChart("chart-csat", "line", series, CSAT_SERIES, bucket);
    drawChart("chart-tickets", "bar", series, TICKET_SERIES, bucket);
  }

  function renderIntents(rows) {
    var body = $("intents");
    body.replaceChildren();
    rows.forEach(function (row) {
      var tr = el("tr");
      tr.setAttribute("data-intent", row.intent || "");
      tr.appendChild(el("td", "", S.label("intents", row.intent) || "（未识别）"));
      var n = el("td", "num");
      n.appendChild(row.intent ? numberButton(String(row.conversations), "conversations",
        "numerator", {intent: row.intent}) : el("span", "", row.conversations));
      tr.appendChild(n);
      tr.appendChild(el("td", "num", S.format(row.share, "%")));
      tr.appendChild(el("td", "num", S.format(row.contained, "%")));
      tr.appendChild(el("td", "num", S.format(row.csat, "%")));
      body.appendChild(tr);
    });
    if (charts.intents) charts.intents.destroy();
    var top = rows.slice(0, 8);
    charts.intents = new window.Chart($("chart-intents"), {
      type: "doughnut",
      data: {labels: top.map(function (r) { return S.label("intents", r.intent) || "（未识别）"; }),
        datasets: [{data: top.map(function (r) { return r.conversations; }),
          backgroundColor: COLORS.concat(["#0891b2", "#65a30d", "#a16207"])}]},
      options: {animation: false, responsive: true, maintainAspectRatio: false,
        plugins: {legend: {position: "right"}}},
    });
  }

  function renderScorecard(card) {
    var comps = Object.keys(card.weights);
    var head = $("scorecard-head");
    head.replaceChildren();
    var hr = el("tr");
    hr.appendChild(el("th", "", "坐席"));
    comps.forEach(function (c) {
      var metric = card.metrics ? card.metrics[c] : null;
      var name = metric && labels[metric] ? labels[metric].label : c;
      hr.appendChild(el("th", "", name + "（" + Math.round(card.weights[c] * 100) + "%）"));
    });
    hr.appendChild(el("th", "", "综合得分"));
    head.appendChild(hr);
    $("scaling").textContent = "计分方式：" + comps.map(function (c) {
      return card.scaling[c];
    }).join("；");
    var body = $("scorecard");
    body.replaceChildren();
    card.agents.forEach(function (a) {
      var tr = el("tr");
      tr.setAttribute("data-agent", a.agent_id);
      tr.appendChild(el("td", "", (a.display_name || "") + "（" + a.agent_id + "）"));
      comps.forEach(function (c) {
        var part = a.components[c] || {};
        var metric = card.metrics ? card.metrics[c] : null;
        var unit = metric && labels[metric] ? labels[metric].unit : "";
        var td = el("td", "num");
        var raw = S.format(part.raw, unit);
        td.appendChild(metric ? numberButton(raw, metric, "numerator", {agent: a.agent_id}) :
          el("span", "", raw));
        td.appendChild(el("span", "note", " · " + S.format(part.score, "count") + " 分"));
        tr.appendChild(td);
      });
      tr.appendChild(el("td", "num", S.format(a.total, "count")));
      body.appendChild(tr);
    });
  }

  // -- drill-down and transcript ----------------------------------------------------------------
  function drillPath(d, limit, offset) {
    var extra = {metric: d.metric, part: d.part, limit: String(limit), offset: String(offset)};
    Object.keys(d.extra).forEach(function (k) { extra[k] = d.extra[k]; });
    if (d.bucket_start !== undefined && d.bucket_start !== null) {
      extra.bucket_start = String(d.bucket_start);
    }
    return "/v1/supervisor/reports/drilldown?" + query(extra);
  }

  function openDrill(d) {
    drill = d;
    S.api(drillPath(d, PAGE, d.offset)).then(function (found) {
      drill.total = found.total;
      var meta = labels[d.metric] || {label: d.metric};
      var title = meta.label + "（" + (d.part === "numerator" ? "分子" : "分母") + "）";
      if (d.bucket_start !== undefined && d.bucket_start !== null) {
        title += " · " + bucketLabel(d.bucket_start, d.extra.bucket || "day");
      }
      if (d.extra.intent) title += " · 意图 " + S.label("intents", d.extra.intent);
      if (d.extra.agent) title += " · 坐席 " + d.extra.agent;
      $("drill-title").textContent = title + "：共 " + found.total + " 个会话";
      var body = $("drill-rows");
      body.replaceChildren();
      found.conversations.forEach(function (c) {
        var tr = el("tr");
        tr.setAttribute("data-conversation", c.id);
        var idCell = el("td");
        var open = el("button", "num", c.id);
        open.type = "button";
        open.addEventListener("click", function () { openTranscript(c.id); });
        idCell.appendChild(open);
        tr.appendChild(idCell);
        tr.appendChild(el("td", "", S.chinaTime(c.started_ms)));
        tr.appendChild(el("td", "", S.CHANNELS[c.channel] || c.channel || ""));
        tr.appendChild(el("td", "", S.label("intents", c.first_intent)));
        tr.appendChild(el("td", "num", c.handoffs));
        tr.appendChild(el("td", "num", c.rating === null ? "—" : c.rating));
        tr.appendChild(el("td", "", S.ENDED[c.ended_by] || c.ended_by || ""));
        body.appendChild(tr);
      });
      var pages = Math.max(1, Math.ceil(found.total / PAGE));
      $("drill-page").textContent = "第 " + (Math.floor(d.offset / PAGE) + 1) + " / " + pages + " 页";
      $("drill-prev").disabled = d.offset === 0;
      $("drill-next").disabled = d.offset + PAGE >= found.total;
      $("drill").hidden = false;
      $("drill").scrollIntoView({block: "nearest"});
    }).catch(showError);
  }

  function page(step) {
    if (!drill) return;
    drill.offset = Math.max(0, drill.offset + step);
    openDrill(drill);
  }

  function openTranscript(id) {
    S.api("/v1/supervisor/conversations/" + encodeURIComponent(id)).then(function (t) {
      var c = t.conversation;
      $("t-id").textContent = c.id;
      $("t-meta").textContent = [S.CHANNELS[c.channel] || c.channel, S.chinaTime(c.started_ms),
        c.first_intent ? "意图 " + S.label("intents", c.first_intent) : "", c.rating ? "评分 " + c.rating : "",
        c.comment ? "评价：" + c.comment : "", S.ENDED[c.ended_by] || ""]
        .filter(Boolean).join(" · ");
      var list = $("t-messages");
      list.replaceChildren();
      t.messages.forEach(function (m) {
        var li = el("li", m.sender);
        li.setAttribute("data-testid", "t-message");
        li.appendChild(el("span", "who", (S.SENDERS[m.sender] || m.sender) +
          (m.agent_id ? "（" + m.agent_id + "）" : "") + " " + S.chinaTime(m.ts_ms, "time")));
        li.appendChild(el("span", "text", m.text));
        list.appendChild(li);
      });
      fillRows($("t-turns"), t.turns, function (u) {
        return [S.chinaTime(u.ts_ms, "time"), S.label("intents", u.intent), fixed(u.confidence),
          fixed(u.margin), S.label("urgency", u.urgency), u.fallback ? "是" : "否", u.action];
      });
      fillRows($("t-handoffs"), t.handoffs, function (h) {
        return [h.id, S.label("skills", h.queue), S.label("urgency", h.urgency), h.created_ms ? S.chinaTime(h.created_ms, "time") : "",
          h.assigned_ms ? S.chinaTime(h.assigned_ms, "time") : "—", h.agent_id, h.status];
      });
      $("transcript").hidden = false;
      $("transcript").scrollIntoView({block: "nearest"});
    }).catch(showError);
  }

  function fixed(v) { return v === null || v === undefined ? "—" : v.toFixed(2); }

  function fillRows(body, rows, cells) {
    body.replaceChildren();
    rows.forEach(function (row) {
      var tr = el("tr");
      cells(row).forEach(function (v) { tr.appendChild(el("td", "", v === null ? "" : v)); });
      body.appendChild(tr);
    });
  }
})();
