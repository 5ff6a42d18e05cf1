/*
 * The live alert feed's websocket client (templates/alerts/feed.html).
 *
 * Delivery is at least once: on every (re)connect the client sends {"type": "resume", "after": lastId} and
 * the server replays every alert after that id, in id order, before streaming new ones. The push is a hint;
 * this client de-duplicates by alert id, so a replay that overlaps what is on screen shows nothing twice.
 * Rows arrive as server-rendered HTML (the same partial as the page) and are wired up with htmx.process().
 * Sound and browser notifications are opt-in toggles remembered in localStorage.
 */
(function () {
  'use strict';
  var feed = document.getElementById('alert-feed');
  if (!feed) return;

  var statusEl = document.getElementById('feed-status');
  var emptyEl = document.getElementById('feed-empty');
  var toasts = document.getElementById('feed-toasts');
  var soundBox = document.getElementById('feed-sound');
  var notifyBox = document.getElementById('feed-notify');
  var showClosed = feed.dataset.showClosed === '1';

  var delivered = new Set();      // every alert id (root or follow-up) this page has shown
  var lastId = parseInt(feed.dataset.after || '0', 10) || 0;
  var socket = null;
  var attempts = 0;
  var stopped = false;
  var pendingSeen = new Set();

  feed.querySelectorAll('[data-alert-id]').forEach(function (el) { delivered.add(+el.dataset.alertId); });
  feed.querySelectorAll('[data-follow-up-id]').forEach(function (el) { delivered.add(+el.dataset.followUpId); });

  function setStatus(state, text) {
    if (!statusEl) return;
    statusEl.dataset.state = state;
    statusEl.textContent = text;
  }

  function refreshEmpty() {
    if (emptyEl) emptyEl.hidden = !!feed.querySelector('.alert-row');
  }

  function toElement(html) {
    var tpl = document.createElement('template');
    tpl.innerHTML = (html || '').trim();
    return tpl.content.firstElementChild;
  }

  function isClosed(el) {
    var s = el.dataset.state;
    return s === 'dismissed' || s === 'expired';
  }

  // Put a root row on the page: replace it where it is, or add it at the top (newest first).
  function place(rootId, html, fresh) {
    var el = toElement(html);
    if (!el) return null;
    var existing = document.getElementById('alert-' + rootId);
    if (existing) {
      existing.replaceWith(el);
    } else {
      if (isClosed(el) && !showClosed) return null;
      feed.prepend(el);
    }
    if (window.htmx) window.htmx.process(el);
    if (fresh) {
      el.classList.add('is-fresh');
      setTimeout(function () { el.classList.remove('is-fresh'); }, 4000);
    }
    refreshEmpty();
    return el;
  }

  function handleAlert(msg) {
    if (delivered.has(msg.id)) return;          // already on screen: a replay overlapping the page
    delivered.add(msg.id);
    if (msg.id > lastId) lastId = msg.id;
    var el = place(msg.root_id, msg.html, true);
    if (el && !msg.parent_id && msg.alert && msg.alert.state === 'new') {
      announce(msg.alert);
      markSeenSoon(msg.id);
    }
  }

  function handleUpdate(msg) {
    // Signals folded into an alert advance the replay position like new alerts do.
    if (msg.seq && msg.seq > lastId) lastId = msg.seq;
    (msg.follow_up_ids || []).forEach(function (id) { delivered.add(id); });
    var existing = document.getElementById('alert-' + msg.root_id);
    var alert = msg.alert || {};
    var open = alert.state === 'new' || alert.state === 'seen' || alert.state === 'claimed';
    var snoozed = alert.snoozed_until && new Date(alert.snoozed_until) > new Date();
    if (msg.moved) {
      // One shopper, one row: a new signal moves their row to the top (the feed is ordered by latest signal).
      if (existing) existing.remove();
      if ((!open || snoozed) && !showClosed) { refreshEmpty(); return; }
      var moved = place(msg.root_id, msg.html, true);
      delivered.add(msg.root_id);
      if (moved && msg.renotify) {
        announce(alert);
        if (alert.state === 'new') markSeenSoon(msg.root_id);
      }
      return;
    }
    if (existing) {
      // An action taken on this page already swapped the row in; the echo from the server is the same row.
      place(msg.root_id, msg.html, false);
      return;
    }
    // A row this page never showed: a snoozed alert coming back, or one a colleague reopened.
    if (!open || snoozed || msg.parent_id) return;
    var el = toElement(msg.html);
    if (!el) return;
    var rows = feed.querySelectorAll('.alert-row');
    var before = null;
    var signalAt = +el.dataset.lastSignal || 0;
    for (var i = 0; i < rows.length; i++) {
      if ((+rows[i].dataset.lastSignal || 0) < signalAt) { before = rows[i]; break; }
    }
    if (before) feed.insertBefore(el, before);
    else if (!document.querySelector('#load-older button')) feed.appendChild(el);
    else return;  // older than every row shown: "Load older" will bring it
    if (window.htmx) window.htmx.process(el);
    delivered.add(msg.root_id);
    refreshEmpty();
  }

  function handleNotification(msg) {
    var text = msg.text || msg.message || msg.summary || msg.title || 'You have a new notice.';
    toast(text, msg.url);
    if (notifyBox && notifyBox.checked && 'Notification' in window && Notification.permission === 'granted') {
      try { new Notification(msg.title || 'Dealership CRM', { body: text, tag: 'crm-note-' + (msg.id || Date.now()) }); } catch (e) { /* ignore */ }
    }
    if (soundBox && soundBox.checked) beep(660);
  }

  function toast(text, url) {
    if (!toasts) return;
    var el = document.createElement(url ? 'a' : 'div');
    el.className = 'feed-toast';
    el.textContent = text;
    if (url) el.href = url;
    toasts.prepend(el);
    setTimeout(function () { el.remove(); }, 12000);
  }

  function announce(alert) {
    if (soundBox && soundBox.checked) beep(alert.priority >= 4 ? 990 : 880);
    if (notifyBox && notifyBox.checked && 'Notification' in window && Notification.permission === 'granted'
        && document.visibilityState !== 'visible') {
      var who = alert.customer ? alert.customer.name : 'A shopper';
      try {
        new Notification(who + ': ' + (alert.priority_label || '') + ' alert', {
          body: (alert.reasons && alert.reasons[0]) || alert.kind, tag: 'crm-alert-' + alert.id
        });
      } catch (e) { /* some browsers only allow notifications from a service worker */ }
    }
  }

  var audio = null;
  function beep(freq) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var osc = audio.createOscillator();
      var gain = audio.createGain();
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.08, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.35);
      osc.connect(gain); gain.connect(audio.destination);
      osc.start(); osc.stop(audio.currentTime + 0.35);
    } catch (e) { /* no audio available */ }
  }

  function markSeenSoon(id) {
    pendingSeen.add(id);
    flushSeen();
  }

  function flushSeen() {
    if (document.visibilityState !== 'visible' || !pendingSeen.size) return;
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    socket.send(JSON.stringify({ type: 'seen', ids: Array.from(pendingSeen) }));
    pendingSeen.clear();
  }

  function connect() {
    if (stopped) return;
    var url = new URL(feed.dataset.wsUrl || '/ws/alerts/', window.location.href);
    url.protocol = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
    setStatus('connecting', attempts ? 'Reconnecting…' : 'Connecting…');
    socket = new WebSocket(url.toString());
    socket.onopen = function () {
      attempts = 0;
      setStatus('live', 'Live');
      // Ask for everything after the newest alert this page has: missed alerts arrive first, in order.
      socket.send(JSON.stringify({ type: 'resume', after: lastId }));
      flushSeen();
    };
    socket.onmessage = function (event) {
      var msg;
      try { msg = JSON.parse(event.data); } catch (e) { return; }
      if (msg.type === 'alert') handleAlert(msg);
      else if (msg.type === 'update') handleUpdate(msg);
      else if (msg.type === 'notification') handleNotification(msg);
    };
    socket.onclose = function (event) {
      socket = null;
      if (event.code === 4401 || event.code === 4403) {
        stopped = true;
        setStatus('offline', 'Signed out: reload the page to sign in again.');
        return;
      }
      attempts += 1;
      // Back off up to 30 s, with jitter so a restarted server is not hit by every browser at once.
      var delay = Math.min(30000, 500 * Math.pow(2, Math.min(attempts, 6))) + Math.random() * 500;
      setStatus('offline', 'Offline: reconnecting in ' + Math.round(delay / 1000) + ' s…');
      setTimeout(connect, delay);
    };
  }

  // Toggles remembered per browser.
  function remember(box, key, onEnable) {
    if (!box) return;
    box.checked = localStorage.getItem(key) === '1';
    box.addEventListener('change', function () {
      localStorage.setItem(key, box.checked ? '1' : '0');
      if (box.checked && onEnable) onEnable();
    });
  }
  remember(soundBox, 'crm.alerts.sound', function () { beep(880); });
  remember(notifyBox, 'crm.alerts.notify', function () {
    if (!('Notification' in window)) { notifyBox.checked = false; toast('This browser cannot show notifications.'); return; }
    if (Notification.permission !== 'granted') {
      Notification.requestPermission().then(function (p) {
        if (p !== 'granted') { notifyBox.checked = false; localStorage.setItem('crm.alerts.notify', '0'); toast('Notifications are blocked for this site.'); }
      });
    }
  });

  // A row swapped by one of this page's own actions may carry follow-ups already delivered.
  document.body.addEventListener('htmx:afterSwap', function () {
    feed.querySelectorAll('[data-alert-id]').forEach(function (r) { delivered.add(+r.dataset.alertId); });
    feed.querySelectorAll('[data-follow-up-id]').forEach(function (r) { delivered.add(+r.dataset.followUpId); });
    refreshEmpty();
  });
  document.addEventListener('visibilitychange', flushSeen);

  // Rows that were new when the page loaded count as seen once the page is in front of someone.
  feed.querySelectorAll('.alert-row[data-state="new"]').forEach(function (el) { pendingSeen.add(+el.dataset.alertId); });

  // For the console and the browser tests: what the page has, and a way to drop the connection.
  window.crmAlertFeed = {
    lastId: function () { return lastId; },
    delivered: delivered,
    drop: function () { if (socket) socket.close(); }
  };
  connect();
})();
