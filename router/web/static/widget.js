/* Customer chat widget. Embed with <script src="https://ROUTER/widget.js"></script>.
 * Options (data-* on the script tag): data-title, data-open="true".
 * A signed app login can be passed before the script loads:
 *   window.TelecomChatConfig = {metadata: {login: {phone, ts, sig}}}
 * Everything shown is set with textContent: nothing a customer, the bot or an agent types is
 * ever parsed as markup. */
(function () {
  "use strict";
  var script = document.currentScript;
  var base = new URL(script ? script.src : "/widget.js", window.location.href);
  var opts = script ? script.dataset : {};
  var config = window.TelecomChatConfig || {};
  var STORE_KEY = "telecomChat.conversation";

  var CSS = [
    ".tcw-launcher{position:fixed;right:16px;bottom:16px;z-index:2147483000;border:0;border-radius:28px;",
    "background:#0b6bcb;color:#fff;font:600 15px system-ui,sans-serif;padding:14px 20px;cursor:pointer;",
    "box-shadow:0 4px 14px rgba(0,0,0,.25)}",
    ".tcw-panel{position:fixed;right:16px;bottom:16px;z-index:2147483001;width:380px;height:600px;",
    "max-height:calc(100vh - 32px);display:flex;flex-direction:column;background:#fff;border-radius:12px;",
    "box-shadow:0 8px 30px rgba(0,0,0,.25);font:14px/1.5 system-ui,'Noto Sans CJK SC','PingFang SC',sans-serif;",
    "color:#1d2733;overflow:hidden}",
    ".tcw-panel[hidden]{display:none}",
    "@media (max-width:480px){.tcw-panel{right:0;bottom:0;width:100vw;height:100%;max-height:none;border-radius:0}}",
    ".tcw-head{background:#0b6bcb;color:#fff;padding:10px 14px;display:flex;align-items:center;gap:8px}",
    ".tcw-title{font-weight:600;flex:1}",
    ".tcw-close{background:none;border:0;color:#fff;font-size:20px;cursor:pointer;line-height:1}",
    ".tcw-status{font-size:12px;padding:6px 14px;background:#eef4fb;color:#244;display:flex;gap:8px;align-items:center}",
    ".tcw-status .tcw-grow{flex:1}",
    ".tcw-cancel{border:1px solid #b33;background:#fff;color:#b33;border-radius:12px;padding:2px 10px;cursor:pointer;font-size:12px}",
    ".tcw-log{flex:1;overflow-y:auto;padding:12px;background:#f6f8fa}",
    ".tcw-row{display:flex;flex-direction:column;margin:6px 0}",
    ".tcw-row.tcw-customer{align-items:flex-end}",
    ".tcw-row.tcw-system{align-items:center}",
    ".tcw-who{font-size:11px;color:#667;margin:0 4px 2px}",
    ".tcw-bubble{max-width:82%;padding:8px 12px;border-radius:14px;white-space:pre-wrap;word-break:break-word;background:#fff;border:1px solid #e1e6eb}",
    ".tcw-customer .tcw-bubble{background:#0b6bcb;color:#fff;border-color:#0b6bcb}",
    ".tcw-agent .tcw-bubble{background:#e9f7ef;border-color:#bfe3cc}",
    ".tcw-system .tcw-bubble{background:none;border:0;color:#667;font-size:12px;text-align:center}",
    ".tcw-buttons{display:flex;flex-wrap:wrap;gap:6px;margin-top:6px;max-width:90%}",
    ".tcw-buttons button{border:1px solid #0b6bcb;color:#0b6bcb;background:#fff;border-radius:14px;padding:4px 12px;cursor:pointer;font:inherit}",
    ".tcw-buttons button:disabled{opacity:.5;cursor:default}",
    ".tcw-typing{font-size:12px;color:#667;padding:0 14px 4px;min-height:18px}",
    ".tcw-form{display:flex;gap:8px;padding:10px;border-top:1px solid #e1e6eb}",
    ".tcw-input{flex:1;border:1px solid #c8d0d8;border-radius:18px;padding:8px 12px;font:inherit;min-width:0}",
    ".tcw-send{border:0;background:#0b6bcb;color:#fff;border-radius:18px;padding:0 16px;font:inherit;cursor:pointer}"
  ].join("");

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  var style = document.createElement("style");
  style.textContent = CSS;
  document.head.appendChild(style);

  var launcher = el("button", "tcw-launcher", "在线客服");
  launcher.type = "button";
  launcher.setAttribute("data-testid", "chat-launcher");
  var panel = el("section", "tcw-panel");
  panel.setAttribute("data-testid", "chat-panel");
  panel.setAttribute("aria-label", "在线客服");
  panel.hidden = true;
  var head = el("header", "tcw-head");
  head.appendChild(el("span", "tcw-title", opts.title || "在线客服"));
  var closeBtn = el("button", "tcw-close", "×");
  closeBtn.type = "button";
  closeBtn.setAttribute("aria-label", "关闭");
  head.appendChild(closeBtn);
  var status = el("div", "tcw-status");
  var statusText = el("span", "tcw-grow", "连接中…");
  statusText.setAttribute("data-testid", "chat-status");
  var cancelBtn = el("button", "tcw-cancel", "取消排队");
  cancelBtn.type = "button";
  cancelBtn.hidden = true;
  cancelBtn.setAttribute("data-testid", "chat-cancel");
  status.appendChild(statusText);
  status.appendChild(cancelBtn);
  var log = el("div", "tcw-log");
  log.setAttribute("data-testid", "chat-log");
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  var typing = el("div", "tcw-typing");
  typing.setAttribute("data-testid", "chat-typing");
  var form = el("form", "tcw-form");
  var input = el("input", "tcw-input");
  input.type = "text";
  input.maxLength = 2000;
  input.placeholder = "请输入您的问题…";
  input.setAttribute("data-testid", "chat-input");
  input.setAttribute("aria-label", "消息");
  var send = el("button", "tcw-send", "发送");
  send.type = "submit";
  send.setAttribute("data-testid", "chat-send");
  form.appendChild(input);
  form.appendChild(send);
  [head, status, log, typing, form].forEach(function (n) { panel.appendChild(n); });
  document.body.appendChild(launcher);
  document.body.appendChild(panel);

  function open() { panel.hidden = false; launcher.hidden = true; input.focus(); }
  launcher.addEventListener("click", open);
  closeBtn.addEventListener("click", function () { panel.hidden = true; launcher.hidden = false; });

  var conversationId = null;
  try { conversationId = window.localStorage.getItem(STORE_KEY); } catch (e) { /* private mode */ }
  var lastSeq = null;
  var seen = {};
  var socket = null;
  var retry = 0;
  var outbox = [];

  function scrollDown() { log.scrollTop = log.scrollHeight; }

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
    if (m.text) row.appendChild(el("div", "tcw-bubble", m.text));
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
        text = "排队中：第 " + s.queue_position + " 位，预计等待 " +
          Math.max(1, Math.round((s.estimated_wait_s || 0) / 60)) + " 分钟";
      } else text = "正在为您转接人工客服…";
    } else if (s.awaiting === "rating") {
      text = "请为本次人工服务打分";
    }
    statusText.textContent = text;
    panel.setAttribute("data-owner", s.owner || "bot");
  }

  function onEvent(ev) {
    if (ev.type === "hello") {
      conversationId = ev.conversation_id;
      try { window.localStorage.setItem(STORE_KEY, conversationId); } catch (e) { /* ignore */ }
      panel.setAttribute("data-conversation", conversationId);
      showState(ev.state);
      // connected means the conversation is known, not just that the socket opened
      panel.setAttribute("data-connected", "true");
    } else if (ev.type === "message") {
      addMessage(ev);
      if (ev.sender !== "customer") typing.textContent = "";
    } else if (ev.type === "typing") {
      typing.textContent = ev.on ? "对方正在输入…" : "";
    } else if (ev.type === "state") {
      showState(ev);
    } else if (ev.type === "error") {
      addMessage({sender: "system", text: "消息未能发送，请重试。"});
    }
  }

  function connect() {
    var url = new URL("/v1/chat/ws", base);
    url.protocol = base.protocol === "https:" ? "wss:" : "ws:";
    if (conversationId) url.searchParams.set("conversation_id", conversationId);
    if (lastSeq) url.searchParams.set("since", lastSeq);
    socket = new WebSocket(url.toString());
    socket.addEventListener("open", function () {
      retry = 0;
      while (outbox.length) socket.send(outbox.shift());
    });
    socket.addEventListener("message", function (e) {
      var ev;
      try { ev = JSON.parse(e.data); } catch (err) { return; }
      onEvent(ev);
    });
    socket.addEventListener("close", function () {
      panel.setAttribute("data-connected", "false");
      statusText.textContent = "连接已断开，正在重连…";
      retry = Math.min(retry + 1, 6);
      window.setTimeout(connect, 300 * Math.pow(2, retry - 1));
    });
  }

  function sendFrame(frame) {
    var raw = JSON.stringify(frame);
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(raw);
    else outbox.push(raw);
  }

  function sendTurn(text, payload) {
    var frame = {type: "message", text: text, metadata: config.metadata || {}};
    if (payload) frame.payload = payload;
    sendFrame(frame);
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    sendTurn(text, null);
  });
  cancelBtn.addEventListener("click", function () { sendFrame({type: "cancel_handoff"}); });

  window.TelecomChat = {
    open: open,
    conversationId: function () { return conversationId; },
    reset: function () {
      try { window.localStorage.removeItem(STORE_KEY); } catch (e) { /* ignore */ }
    }
  };
  if (opts.open === "true") open();
  connect();
})();
