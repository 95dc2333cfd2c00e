/* The customer chat, inside the widget's frame (/widget/frame, served by the router).
 *
 * The conversation id and its resume token live only here, in the router origin's
 * localStorage: the host page's scripts cannot read them. The host page (widget.js) and this
 * frame talk by postMessage only: the frame tells it "close" and, once per conversation, the
 * conversation id (so the host app can have its backend sign a login bound to it); the host
 * may send back a signed login, which goes with the customer's next message, once.
 *
 * Everything shown is set with textContent: nothing a customer, the bot or an agent types is
 * ever parsed as markup. */
(function () {
  "use strict";
  var STORE_KEY = "telecomChat.session";
  var SOURCE = "telecom-chat";
  var LOGIN_MAX_AGE_MS = 270 * 1000; // the assistant accepts a login for 5 minutes
  var params = new URLSearchParams(window.location.search);
  var embedded = window.parent !== window;
  var hostOrigin = embedded ? params.get("host") : null;
  // the host's claim is checked against the browser's own record where it keeps one
  var ancestors = window.location.ancestorOrigins;
  if (hostOrigin && ancestors && ancestors.length && ancestors[0] !== hostOrigin) hostOrigin = null;

  function byId(id) { return document.querySelector("[data-testid=" + id + "]"); }
  var panel = byId("chat-panel");
  var statusText = byId("chat-status");
  var cancelBtn = byId("chat-cancel");
  var log = byId("chat-log");
  var typing = byId("chat-typing");
  var input = byId("chat-input");
  var form = document.querySelector(".tcw-form");
  if (params.get("title")) byId("chat-title").textContent = params.get("title").slice(0, 40);

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function toHost(message) {
    if (!hostOrigin) return;
    message.source = SOURCE;
    try { window.parent.postMessage(message, hostOrigin); } catch (e) { /* not an origin */ }
  }

  byId("chat-close").addEventListener("click", function () { toHost({type: "close"}); });

  // -- the session: {id, token}, this origin's storage only ---------------------------------
  function loadSession() {
    try {
      var s = JSON.parse(window.localStorage.getItem(STORE_KEY) || "null");
      if (s && typeof s.id === "string" && typeof s.token === "string") return s;
    } catch (e) { /* private mode or garbage */ }
    return null;
  }
  function saveSession(s) {
    try { window.localStorage.setItem(STORE_KEY, JSON.stringify(s)); } catch (e) { /* ignore */ }
  }
  function dropSession() {
    session = null;
    try { window.localStorage.removeItem(STORE_KEY); } catch (e) { /* ignore */ }
  }

  function openConversation() {
    return fetch("/v1/chat/conversations", {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({channel: "web"}),
      credentials: "omit"
    }).then(function (r) {
      if (!r.ok) throw new Error("open " + r.status);
      return r.json();
    }).then(function (j) {
      session = {id: j.conversation_id, token: j.resume_token};
      saveSession(session);
      return session;
    });
  }

  var session = loadSession();
  var lastSeq = null;
  var seen = {};
  var socket = null;
  var ready = false; // hello received: the socket speaks for the conversation
  var retry = 0;
  var outbox = [];
  var login = null; // {login, at}
  var announced = null;

  function scrollDown() { log.scrollTop = log.scrollHeight; }

  /* A message's bubble: its text as text; a link to this site's follow-up page (a ticket's
   * satisfaction question) becomes a link — built as an element, never parsed from markup. */
  var FEEDBACK_LINK = /https?:\/\/[^\s]+\/feedback\?t=[A-Za-z0-9_.-]+/g;
  function bubble(text) {
    var box = el("div", "tcw-bubble");
    var at = 0;
    String(text).replace(FEEDBACK_LINK, function (url, offset) {
      if (url.indexOf(window.location.origin + "/") !== 0) return url;  // only our own page
      box.appendChild(document.createTextNode(text.slice(at, offset)));
      var a = el("a", "tcw-link", url);
      a.href = url;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      a.setAttribute("data-testid", "feedback-link");
      box.appendChild(a);
      at = offset + url.length;
      return url;
    });
    box.appendChild(document.createTextNode(text.slice(at)));
    return box;
  }

  function addMessage(m) {
    if (m.seq) {
      if (seen[m.seq]) return;
      seen[m.seq] = true;
      lastSeq = m.seq;
    }
    var sender = m.sender || "system";
    var row = el("div", "tcw-row tcw-" + sender);
    row.setAttribute("data-testid", "msg-" + sender);
    if (sender === "agent") row.appendChild(el("span", "tcw-who", "人工客服 " + (m.agent_name || "")));
    if (sender === "bot") row.appendChild(el("span", "tcw-who", "智能客服"));
    if (m.text) row.appendChild(bubble(m.text));
    if (m.buttons && m.buttons.length) {
      var box = el("div", "tcw-buttons");
      m.buttons.forEach(function (b) {
        var btn = el("button", null, b.title);
        btn.type = "button";
        btn.addEventListener("click", function () {
          Array.prototype.forEach.call(box.children, function (c) { c.disabled = true; });
          sendTurn(b.title, b.payload);
        });
        box.appendChild(btn);
      });
      row.appendChild(box);
    }
    log.appendChild(row);
    scrollDown();
  }

  function showState(s) {
    var text = "智能客服为您服务";
    cancelBtn.hidden = true;
    if (s.owner === "agent") {
      text = "人工客服 " + (s.agent_name || "") + " 正在为您服务";
    } else if (s.owner === "queue") {
      cancelBtn.hidden = false;
      if (s.queue_position === 0) text = "正在为您接通人工客服…";
      else if (s.queue_position) {
        text = "排队中：第 " + s.queue_position + " 位" +
          (s.estimated_wait_text ? "，" + s.estimated_wait_text : "");
      } else text = "正在为您转接人工客服…";
    } else if (s.awaiting === "rating") {
      text = "请为本次人工服务打分";
    }
    statusText.textContent = text;
    panel.setAttribute("data-owner", s.owner || "bot");
  }

  function onEvent(ev) {
    if (ev.type === "hello") {
      ready = true;
      retry = 0;
      panel.setAttribute("data-conversation", ev.conversation_id); // this frame's own DOM
      showState(ev.state);
      // connected means the conversation is known, not just that the socket opened
      panel.setAttribute("data-connected", "true");
      while (outbox.length) socket.send(outbox.shift());
      if (announced !== ev.conversation_id) {
        announced = ev.conversation_id;
        toHost({type: "conversation", conversationId: ev.conversation_id});
      }
    } else if (ev.type === "message") {
      addMessage(ev);
      if (ev.sender !== "customer") typing.textContent = "";
    } else if (ev.type === "typing") {
      typing.textContent = ev.on ? "对方正在输入…" : "";
    } else if (ev.type === "state") {
      showState(ev);
    } else if (ev.type === "error" && ev.error === "rate_limited") {
      addMessage({sender: "system", text: "您发送得太快了，请稍后再试。"});
    } else if (ev.type === "error") {
      addMessage({sender: "system", text: "消息未能发送，请重试。"});
    }
  }

  function reconnectLater() {
    retry = Math.min(retry + 1, 6);
    window.setTimeout(connect, 300 * Math.pow(2, retry - 1));
  }

  function connect() {
    (session ? Promise.resolve(session) : openConversation()).then(function (s) {
      var url = new URL("/v1/chat/ws", window.location.href);
      url.protocol = window.location.protocol === "https:" ? "wss:" : "ws:";
      ready = false;
      socket = new WebSocket(url.toString());
      socket.addEventListener("open", function () {
        var frame = {type: "resume", conversation_id: s.id, resume_token: s.token};
        if (lastSeq) frame.since = lastSeq;
        socket.send(JSON.stringify(frame));
      });
      socket.addEventListener("message", function (e) {
        var ev;
        try { ev = JSON.parse(e.data); } catch (err) { return; }
        onEvent(ev);
      });
      socket.addEventListener("close", function (e) {
        var refused = e.code === 1008 && !ready;
        ready = false;
        panel.setAttribute("data-connected", "false");
        statusText.textContent = "连接已断开，正在重连…";
        if (refused) {
          // the conversation expired or its token is no longer valid: start a new one
          dropSession();
          lastSeq = null;
          seen = {};
          while (log.firstChild) log.removeChild(log.firstChild);
        }
        reconnectLater();
      });
    }).catch(function () {
      statusText.textContent = "连接失败，正在重试…";
      reconnectLater();
    });
  }

  function sendFrame(frame) {
    var raw = JSON.stringify(frame);
    if (socket && ready && socket.readyState === WebSocket.OPEN) socket.send(raw);
    else outbox.push(raw);
  }

  function sendTurn(text, payload) {
    var frame = {type: "message", text: text};
    if (payload) frame.payload = payload;
    if (login && Date.now() - login.at < LOGIN_MAX_AGE_MS) {
      frame.metadata = {login: login.login}; // single use: it goes with this turn only
    }
    login = null;
    sendFrame(frame);
  }

  function validLogin(l) {
    return l && typeof l === "object" && typeof l.phone === "string" && typeof l.ts === "number" &&
      typeof l.nonce === "string" && typeof l.sig === "string";
  }

  window.addEventListener("message", function (e) {
    if (!hostOrigin || e.source !== window.parent || e.origin !== hostOrigin) return;
    var m = e.data;
    if (!m || m.source !== SOURCE) return;
    if (m.type === "login" && validLogin(m.login)) {
      login = {login: {phone: m.login.phone, ts: m.login.ts, nonce: m.login.nonce, sig: m.login.sig},
               at: Date.now()};
    } else if (m.type === "open") {
      input.focus();
    }
  });

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    sendTurn(text, null);
  });
  cancelBtn.addEventListener("click", function () { sendFrame({type: "cancel_handoff"}); });

  connect();
})();
