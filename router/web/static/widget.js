/* Customer chat widget loader. Embed with <script src="https://ROUTER/widget.js"></script>.
 * Options (data-* on the script tag): data-title, data-open="true".
 *
 * The chat itself runs in a frame served by the router (/widget/frame): its conversation id and
 * resume token stay in the router origin's storage, out of this page's reach. This loader only
 * shows a launcher and the frame, and relays, by postMessage:
 *   frame → page: "close"; the conversation id once it is known;
 *   page → frame: a signed app login, when the page configures one:
 *     window.TelecomChatConfig = {
 *       // called with the conversation id; the app's backend signs a login bound to it
 *       getLogin: function (conversationId) { return Promise<{phone, ts, nonce, sig}> }
 *     };
 *   The id alone is not a credential; a login is valid once, in that conversation only. */
(function () {
  "use strict";
  var script = document.currentScript;
  var base = new URL(script ? script.src : "/widget.js", window.location.href);
  var opts = script ? script.dataset : {};
  var config = window.TelecomChatConfig || {};
  var SOURCE = "telecom-chat";

  var CSS = [
    ".tcw-launcher{position:fixed;right:16px;bottom:16px;z-index:2147483000;border:0;border-radius:28px;",
    "background:#0b6bcb;color:#fff;font:600 15px system-ui,sans-serif;padding:14px 20px;cursor:pointer;",
    "box-shadow:0 4px 14px rgba(0,0,0,.25)}",
    ".tcw-launcher[hidden],.tcw-frame[hidden]{display:none}",
    ".tcw-frame{position:fixed;right:16px;bottom:16px;z-index:2147483001;width:380px;height:600px;",
    "max-height:calc(100vh - 32px);border:0;border-radius:12px;background:#fff;",
    "box-shadow:0 8px 30px rgba(0,0,0,.25)}",
    "@media (max-width:480px){.tcw-frame{right:0;bottom:0;width:100vw;height:100%;max-height:none;border-radius:0}}"
  ].join("");

  var style = document.createElement("style");
  style.textContent = CSS;
  document.head.appendChild(style);

  var launcher = document.createElement("button");
  launcher.className = "tcw-launcher";
  launcher.type = "button";
  launcher.textContent = "在线客服";
  launcher.setAttribute("data-testid", "chat-launcher");

  var src = new URL("/widget/frame", base);
  src.searchParams.set("host", window.location.origin);
  if (opts.title) src.searchParams.set("title", opts.title);
  var frame = document.createElement("iframe");
  frame.className = "tcw-frame";
  frame.title = opts.title || "在线客服";
  frame.src = src.toString();
  frame.hidden = true;
  frame.setAttribute("data-testid", "chat-frame");
  frame.setAttribute("referrerpolicy", "no-referrer");

  document.body.appendChild(launcher);
  document.body.appendChild(frame);

  function toFrame(message) {
    message.source = SOURCE;
    try {
      frame.contentWindow.postMessage(message, base.origin);
    } catch (e) { /* the frame has not loaded yet: nothing to tell it */ }
  }
  function open() { frame.hidden = false; launcher.hidden = true; toFrame({type: "open"}); }
  function close() { frame.hidden = true; launcher.hidden = false; }
  launcher.addEventListener("click", open);

  window.addEventListener("message", function (e) {
    if (e.source !== frame.contentWindow || e.origin !== base.origin) return;
    var m = e.data;
    if (!m || m.source !== SOURCE) return;
    if (m.type === "close") {
      close();
    } else if (m.type === "conversation" && typeof config.getLogin === "function") {
      Promise.resolve(config.getLogin(String(m.conversationId))).then(function (login) {
        if (login) toFrame({type: "login", login: login});
      }).catch(function () { /* no login: the customer verifies in the chat */ });
    }
  });

  window.TelecomChat = {open: open, close: close};
  if (opts.open === "true") open();
})();
