/* What the supervisor pages (wallboard, reports) share: the token sign-in, the API calls with
 * the supervisor's bearer token, CSV downloads, and how numbers and China times are shown.
 * The token is kept in sessionStorage (this tab only) and sent in a header, never in a URL.
 * Every text from the server is set with textContent, never as markup. */
(function () {
  "use strict";
  var KEY = "supervisor.auth";
  var CHINA_MS = 8 * 3600 * 1000;
  var S = {auth: null, signedIn: false};

  S.$ = function (id) { return document.getElementById(id); };

  S.el = function (tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined && text !== null) n.textContent = String(text);
    return n;
  };

  /* A failed reply as an error with its status and, when it has one, its JSON body (a 422
   * names the parameters that were refused). A 401 (token revoked) signs out. */
  function fail(r, body) {
    var e = new Error("HTTP " + r.status);
    e.status = r.status;
    e.body = body || null;
    if (r.status === 401 && S.signedIn) S.signOut();
    throw e;
  }

  S.fetch = function (path, init) {
    init = init || {};
    init.headers = init.headers || {};
    init.headers.Authorization = "Bearer " + S.auth.token;
    return fetch(path, init).then(function (r) { return r.ok ? r : fail(r); });
  };

  S.api = function (path) {
    return fetch(path, {headers: {Authorization: "Bearer " + S.auth.token}}).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (body) {
        return r.ok ? body : fail(r, body);
      });
    });
  };

  /* A change (POST, PATCH) with a JSON body; resolves to the reply's JSON, rejects like S.api
   * (e.body.error is the refusal's code). */
  S.send = function (method, path, body) {
    return fetch(path, {method: method, body: JSON.stringify(body || {}),
      headers: {Authorization: "Bearer " + S.auth.token, "Content-Type": "application/json"}})
      .then(function (r) {
        return r.json().catch(function () { return null; }).then(function (data) {
          return r.ok ? data : fail(r, data);
        });
      });
  };

  /* A CSV table: fetched with the token, saved under the server's file name. */
  S.download = function (path) {
    return S.fetch(path).then(function (r) {
      var name = /filename="([^"]+)"/.exec(r.headers.get("content-disposition") || "");
      return r.blob().then(function (blob) {
        var a = document.createElement("a");
        a.href = URL.createObjectURL(blob);
        a.download = name ? name[1] : "report.csv";
        document.body.appendChild(a);
        a.click();
        window.setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
      });
    });
  };

  /* The sign-in form (#login, #sid, #token, #login-error) and the signed-in part (#app, #me,
   * #logout). `ready` runs once signed in (also after a reload of the tab). */
  S.signIn = function (ready) {
    function enter(auth) {
      S.auth = auth;
      return S.api("/v1/supervisors/" + encodeURIComponent(auth.id)).then(function (me) {
        sessionStorage.setItem(KEY, JSON.stringify(auth));
        S.signedIn = true;
        S.$("login").hidden = true;
        S.$("app").hidden = false;
        S.$("logout").hidden = false;
        S.$("me").textContent = me.display_name + "（" + me.supervisor_id + "）";
        document.body.setAttribute("data-supervisor", me.supervisor_id);
        ready();
      });
    }
    S.$("login").addEventListener("submit", function (e) {
      e.preventDefault();
      enter({id: S.$("sid").value.trim(), token: S.$("token").value.trim()}).catch(function (err) {
        S.auth = null;
        S.$("login-error").textContent = err.status === 401 || err.status === 403 ?
          "账号或令牌不正确" : "无法连接服务器";
      });
    });
    S.$("logout").addEventListener("click", S.signOut);
    var saved = sessionStorage.getItem(KEY);
    if (saved) {
      try { enter(JSON.parse(saved)).catch(function () { sessionStorage.removeItem(KEY); }); }
      catch (e) { sessionStorage.removeItem(KEY); }
    }
  };

  S.signOut = function () {
    sessionStorage.removeItem(KEY);
    S.auth = null;
    window.location.reload();
  };

  /* A metric's value in its unit ("%", "s" or "count"); "—" when there is none. */
  S.format = function (value, unit) {
    if (value === null || value === undefined) return "—";
    if (unit === "%") return value.toFixed(1) + "%";
    if (unit === "s") return S.duration(value);
    return String(Math.round(value));
  };

  S.duration = function (seconds) {
    var s = Math.max(0, Math.round(seconds));
    if (s < 60) return s + " 秒";
    var m = Math.floor(s / 60);
    if (m < 60) return m + " 分 " + (s % 60) + " 秒";
    return Math.floor(m / 60) + " 小时 " + (m % 60) + " 分";
  };

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  /* China time (UTC+8, no DST) of epoch ms: "2026-09-20 09:15" (or only the date / time). */
  S.chinaTime = function (ms, part) {
    var d = new Date(ms + CHINA_MS);
    var date = d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate());
    var time = pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
    if (part === "date") return date;
    if (part === "time") return time;
    return date + " " + time;
  };

  /* The server's vocabulary (router/web page_data: telecom.labels), and one way to show an id:
   * its label, else the id itself. */
  var DATA = JSON.parse(document.getElementById("page-data").textContent);
  S.LABELS = DATA.labels;
  S.LABELS.urgency = {};
  DATA.urgency.forEach(function (u) { S.LABELS.urgency[u.name] = u.label; });
  S.SENDERS = DATA.labels.senders;
  S.STATES = DATA.labels.states;
  S.CHANNELS = DATA.labels.channels;
  S.ENDED = DATA.labels.ended;
  S.LABELS.alertKinds = DATA.tickets.alert_kinds;
  S.label = function (table, id) {
    if (id === null || id === undefined || id === "") return "";
    return S.LABELS[table][id] || String(id);
  };

  window.Supervisor = S;
})();
