/*
 * crm-chat v1: the dealership's chat widget (the CRM's after-hours assistant). No dependencies.
 *
 *   <script src="https://crm.example/static/crm/chat.js" data-write-key="KEY"
 *           data-endpoint="https://crm.example" data-title="Chat with us" defer></script>
 *
 * data-endpoint defaults to the script's origin; data-css to chat.css beside it. A websocket
 * (/ws/assistant/KEY/), HTTP (/assistant/chat/KEY/open/, /say/) when it fails or drops. The conversation id
 * stays in localStorage (a returning browser sees it); track.js's visitor id (crm_aid) ties it to the visitor.
 */
(function () {
  'use strict';
  var w = window, doc = document;
  var script = doc.currentScript || doc.querySelector('script[src*="chat.js"][data-write-key]');
  if (!script || w.crmChat) return;
  var ds = script.dataset;
  var key = ds.writeKey || '';
  var origin = '';
  try { origin = new URL(script.src).origin; } catch (e) { /* inline */ }
  var endpoint = String(ds.endpoint || origin).replace(/\/+$/, '');
  if (!key || !endpoint) return;
  var STORE = 'crm_chat_conversation:' + key;
  var conversation = lsGet(STORE);
  var socket = null, useHttp = !w.WebSocket, pending = null, opened = false, opening = false;

  function lsGet(k) { try { return w.localStorage.getItem(k); } catch (e) { return null; } }
  function lsSet(k, v) { try { if (v) w.localStorage.setItem(k, v); else w.localStorage.removeItem(k); } catch (e) { /* blocked */ } }

  function anonymousId() {
    var t = w.crmTrack;
    if (t && t.__crm) return t.anonymousId() || '';
    if (/(?:^|; )crm_optout=1/.test(doc.cookie)) return '';
    var m = doc.cookie.match(/(?:^|; )crm_aid=([\w-]{8,64})/);
    return m ? m[1] : (lsGet('crm_aid') || '');
  }

  function el(tag, attrs, text) {
    var e = doc.createElement(tag);
    Object.keys(attrs || {}).forEach(function (a) { e.setAttribute(a, attrs[a]); });
    if (text) e.textContent = text;
    return e;
  }

  // --- markup -------------------------------------------------------------
  var css = el('link', { rel: 'stylesheet', href: ds.css || script.src.replace(/chat(\.\w+)?\.js(\?.*)?$/, 'chat.css') });
  doc.head.appendChild(css);
  var root = el('div', { 'class': 'crm-chat' });
  var toggle = el('button', { type: 'button', 'class': 'crm-chat-toggle', 'aria-expanded': 'false',
    'aria-controls': 'crm-chat-panel' }, ds.title || 'Chat with us');
  var panel = el('div', { id: 'crm-chat-panel', 'class': 'crm-chat-panel', role: 'dialog',
    'aria-labelledby': 'crm-chat-title' });
  panel.hidden = true;
  var head = el('div', { 'class': 'crm-chat-head' });
  head.appendChild(el('h2', { id: 'crm-chat-title' }, ds.title || 'Chat with us'));
  var close = el('button', { type: 'button', 'class': 'crm-chat-close', 'aria-label': 'Close chat' }, '\u00d7');
  head.appendChild(close);
  var log = el('div', { 'class': 'crm-chat-log', role: 'log', 'aria-live': 'polite', 'aria-label': 'Conversation',
    tabindex: '0' });
  var status = el('p', { 'class': 'crm-chat-status', role: 'status' });
  var form = el('form', { 'class': 'crm-chat-form' });
  form.appendChild(el('label', { 'for': 'crm-chat-input' }, 'Your message'));
  var input = el('input', { id: 'crm-chat-input', type: 'text', maxlength: '1000', autocomplete: 'off' });
  form.appendChild(input);
  form.appendChild(el('button', { type: 'submit' }, 'Send'));
  [head, log, status, form].forEach(function (n) { panel.appendChild(n); });
  root.appendChild(toggle);
  root.appendChild(panel);

  function line(author, text) {
    var p = el('p', { 'class': 'crm-chat-msg crm-chat-' + author });
    p.appendChild(el('span', { 'class': 'crm-chat-who' }, author === 'shopper' ? 'You: ' : author === 'staff' ? 'Staff: ' : 'Assistant: '));
    p.appendChild(doc.createTextNode(text));
    log.appendChild(p);
    log.scrollTop = log.scrollHeight;
  }

  function say(text) { status.textContent = text; }

  // --- answers from either door -------------------------------------------
  function handle(frame) {
    if (!frame || typeof frame !== 'object') return;
    if (frame.type === 'opened') {
      opened = true;
      opening = false;
      conversation = frame.conversation;
      lsSet(STORE, conversation);
      log.textContent = '';
      (frame.messages || []).forEach(function (m) { line(m.author, m.text); });
      say('');
      // A line typed before the conversation was open: shown again under the transcript, then sent.
      if (pending) { line('shopper', pending); send(pending); }
    } else if (frame.type === 'reply') {
      pending = null;
      line('assistant', frame.text);
      say(frame.handoff ? 'A person from our team will follow up.' : '');
    } else if (frame.type === 'error') {
      opening = false;
      if (frame.error === 'unknown_conversation' || frame.error === 'bad_conversation') {
        lsSet(STORE, conversation = null);
        opened = false;
        return open();
      }
      pending = null;
      say(frame.error === 'rate_limited' ? 'Too many messages. Please wait ' + (frame.retry_after || 30) +
        ' seconds.' : 'Sorry, we could not answer that. Please try again.');
    }
  }

  function http(move, body) {
    fetch(endpoint + '/assistant/chat/' + encodeURIComponent(key) + '/' + move + '/', {
      method: 'POST', body: JSON.stringify(body), credentials: 'omit', mode: 'cors'
    }).then(function (r) { return r.json(); }).then(handle, function () {
      pending = null;
      opening = false;
      say('We could not reach the dealership. Please try again.');
    });
  }

  function fallBack() {
    useHttp = true;
    socket = null;
    opening = false;
    // Whatever was in flight on the socket is asked again over HTTP.
    if (!opened) open(); else if (pending) send(pending);
  }

  function open() {
    if (opening) return; // one open at a time: its answer sends what is pending
    opening = true;
    var body = { type: 'open', conversation: conversation, anonymous_id: anonymousId() };
    if (useHttp) return http('open', body);
    if (socket && socket.readyState === 1) return socket.send(JSON.stringify(body));
    try {
      socket = new WebSocket(endpoint.replace(/^http/, 'ws') + '/ws/assistant/' + encodeURIComponent(key) + '/');
    } catch (e) { return fallBack(); }
    socket.onopen = function () { socket.send(JSON.stringify(body)); };
    socket.onmessage = function (e) {
      try { handle(JSON.parse(e.data)); } catch (x) { /* not ours */ }
    };
    socket.onclose = function () { if (socket) fallBack(); };
  }

  function send(text) {
    pending = text;
    if (!opened) return open();
    say('The assistant is typing\u2026');
    if (useHttp || !socket || socket.readyState !== 1) {
      if (!useHttp && socket) return; // the socket is still connecting: sent when it has opened
      return http('say', { conversation: conversation, text: text });
    }
    socket.send(JSON.stringify({ type: 'say', text: text }));
  }

  // --- keyboard and focus -------------------------------------------------
  function show(on) {
    panel.hidden = !on;
    toggle.setAttribute('aria-expanded', String(on));
    if (on) {
      if (!opened) open();
      input.focus();
    } else {
      toggle.focus();
    }
  }
  toggle.addEventListener('click', function () { show(panel.hidden); });
  close.addEventListener('click', function () { show(false); });
  panel.addEventListener('keydown', function (e) {
    if (e.key === 'Escape') { e.preventDefault(); show(false); }
  });
  form.addEventListener('submit', function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text || pending) return;
    input.value = '';
    line('shopper', text);
    send(text);
  });

  function ready() {
    doc.body.appendChild(root);
    if (conversation) open(); // a returning browser: its transcript is there when the panel opens
  }
  if (doc.readyState === 'loading') doc.addEventListener('DOMContentLoaded', ready); else ready();
  w.crmChat = { open: function () { show(true); }, close: function () { show(false); } };
})();
