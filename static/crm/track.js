/*
 * crm-track v1: first-party website tracker for the dealership CRM.
 * No dependencies. Sends Segment-compatible messages to the CRM collector.
 *
 * ---------------------------------------------------------------------------
 * INSTALL: paste once, anywhere in the page (the end of <head> is a good place):
 *
 *   <script src="https://crm.example/static/crm/track.js"
 *           data-write-key="KEY" data-endpoint="https://crm.example" async></script>
 *
 * Optional attributes on the tag:
 *   data-cookie-domain=".dealer.example"  share the visitor id across subdomains
 *   data-consent="declined"               send nothing until crmTrack.optIn()
 *   data-auto-page="false"                no automatic page view on load (for
 *                                         single-page apps that call page())
 *   data-debug="true"                     log every message to the console
 *
 * Or configure from JavaScript before the script loads (these values win over
 * the tag's attributes; data-endpoint defaults to the script's own origin):
 *
 *   window.crmTrackConfig = {writeKey: 'KEY', endpoint: 'https://crm.example',
 *     cookieDomain: '.dealer.example', consent: 'declined', autoPage: true,
 *     debug: false};
 *
 * ---------------------------------------------------------------------------
 * API (window.crmTrack):
 *   crmTrack.track(event, properties)  custom event
 *   crmTrack.page(properties)          page view (single-page apps, on route change)
 *   crmTrack.identify(traits)          {email, phone, first_name, last_name, name,
 *                                       customer_token}: links this visitor to a customer
 *   crmTrack.identify(userId, traits)  same, with your own user id
 *   crmTrack.optOut() / optIn() / hasOptedOut()
 *   crmTrack.flush()                   send what is queued now
 *   crmTrack.anonymousId()             the visitor id (null when opted out)
 *
 * Calling before the script has loaded: queue calls as arrays, they are replayed
 * on load (consent calls first) and push() keeps working afterwards.
 *
 *   window.crmTrack = window.crmTrack || [];
 *   crmTrack.push(['track', 'chat_started', {chat_provider: 'acme'}]);
 *
 * ---------------------------------------------------------------------------
 * PRIVACY: nothing is sent, no cookie is written and queued messages are dropped
 * when the visitor opted out (crmTrack.optOut(), remembered in the cookie
 * crm_optout=1), when the tag/config says consent is declined and optIn() has not
 * been called on this page, or when the browser sends Global Privacy Control
 * (navigator.globalPrivacyControl; optIn() does not override it).
 * Form field values are never sent, except the identify traits listed below.
 * Cookies: crm_aid (visitor id, 2 years, also kept in localStorage), crm_optout.
 *
 * ---------------------------------------------------------------------------
 * AUTOMATIC EVENTS (ASC vocabulary), driven by data attributes in your markup:
 *
 *   <body data-crm-page-type="home|srp|vdp|service|finance|...">  (default 'other')
 *     on load  -> Segment page + asc_pageview {page_type}
 *
 *   Vehicle detail page (page type "vdp"):
 *   <div data-crm-vehicle data-vin data-stock data-year data-make data-model
 *        data-trim data-price="34995" data-condition="new|used">
 *     on load  -> asc_item_pageview {item_id, item_number, item_year, item_make,
 *                 item_model, item_variant, item_price, item_condition, page_type:'item'}
 *
 *   Search results page (page type "srp"): one data-crm-vehicle-card per result
 *   (cards may carry the same vehicle attributes), and optionally
 *   <div data-crm-filters data-make="Toyota" data-body-style="suv">
 *     on load  -> asc_itemlist_pageview {item_results, filters: {make, body_style},
 *                 page_type:'itemlist'}
 *
 *   <a href="tel:..." data-crm-cta="call|text|get_directions|test_drive|..."
 *      data-crm-action="click">
 *     on click -> asc_cta_interaction {element_text, element_type, event_action,
 *                 page_type, link_url, + vehicle props of the enclosing vehicle
 *                 card, or of the page's vehicle on a VDP}
 *
 *   <form data-crm-form="sales|service|trade|credit|test_drive|contact"
 *         data-crm-department="sales|service|parts|finance" (default sales)
 *         data-crm-form-id="optional, else the form's id or name">
 *     first focus/input -> asc_form_engagement {form_type, form_id,
 *                          event_action_result:'start'} (once per form)
 *     submit            -> asc_form_submission {form_type, form_id, comm_type:'form',
 *                          department} and, if the form has fields named email,
 *                          phone, first_name or last_name, identify with them.
 *     Submission is never delayed or blocked. Note: form.submit() fires no submit
 *     event; use form.requestSubmit() or call crmTrack.track yourself.
 *
 *   Links from CRM emails/texts carry ?crm_ct=<token>: the tracker sends
 *   identify {customer_token} once and removes the token from the address bar
 *   (so it is not bookmarked, shared or leaked in referrers).
 *
 * ---------------------------------------------------------------------------
 * CUSTOM EVENTS the CRM understands; send them yourself with crmTrack.track().
 * Prices and amounts are numbers in dollars; item_id is the VIN.
 *
 *   trade_in_calculator_completed {trade_year, trade_make, trade_model, trade_trim,
 *                                  trade_mileage, trade_condition, estimated_value}
 *   payment_calculator_used       {item_id, item_price, payment_type:'finance'|'lease',
 *                                  down_payment, term_months, apr, monthly_payment}
 *   price_drop_alert_subscribed   {item_id, item_price, target_price}
 *                                  (also call identify({email}) with the address)
 *   price_drop_alert_clicked      {item_id, old_price, new_price}
 *   credit_application_started    {application_type:'individual'|'joint', item_id}
 *   chat_started                  {chat_provider, department, item_id}
 *
 * ---------------------------------------------------------------------------
 * DELIVERY: messages are batched and sent every 2 s, at 20 messages, and when the
 * page is hidden or unloaded, as POST {endpoint}/v1/batch with a text/plain JSON
 * body (a "simple" request: no CORS preflight) via navigator.sendBeacon, or
 * fetch(keepalive) where sendBeacon is missing. Failed batches wait in
 * localStorage (crm_track_queue, newest 200 kept) and are retried on the next
 * flush or page load; messageId lets the collector drop duplicates.
 */
(function () {
  'use strict';

  var w = window;
  var doc = document;
  var nav = navigator;

  // A second copy of the snippet on the same page must not double count.
  if (w.crmTrack && w.crmTrack.__crm) return;

  var VERSION = '1';
  var TWO_YEARS = 63072000; // seconds
  var BATCH_SIZE = 20;
  var FLUSH_MS = 2000;
  var STORE_KEY = 'crm_track_queue';
  var STORE_MAX = 200;
  // sendBeacon/keepalive share a ~64 KB in-flight budget per page; keep each
  // request well under it (characters, not bytes, hence the margin).
  var MAX_BODY = 30000;
  var TRAIT_FIELDS = ['email', 'phone', 'first_name', 'last_name'];

  // --- configuration --------------------------------------------------------
  // currentScript is only set while this file runs for the first time, so read
  // it now; the querySelector covers loaders that inject the tag oddly.
  var script = doc.currentScript || doc.querySelector('script[data-write-key]');
  var ds = (script && script.dataset) || {};
  var cfg = w.crmTrackConfig || {};
  var scriptOrigin = '';
  try { scriptOrigin = new URL(script.src).origin; } catch (e) { /* inline or no script */ }

  var writeKey = cfg.writeKey || ds.writeKey || '';
  var endpoint = String(cfg.endpoint || ds.endpoint || scriptOrigin).replace(/\/+$/, '');
  var cookieDomain = cfg.cookieDomain || ds.cookieDomain || '';
  var debug = cfg.debug != null ? !!cfg.debug : ds.debug != null && ds.debug !== 'false';
  var autoPage = cfg.autoPage != null ? !!cfg.autoPage : ds.autoPage !== 'false';
  // Either place saying "declined" wins: being wrong the other way is worse.
  var consentDeclined = cfg.consent === 'declined' || ds.consent === 'declined';
  var optedInHere = false; // optIn() called on this page overrides consentDeclined

  function log() {
    if (debug && w.console) console.log.apply(console, ['[crm-track]'].concat([].slice.call(arguments)));
  }

  if (!writeKey || !endpoint) {
    if (w.console) console.warn('[crm-track] missing data-write-key or data-endpoint; nothing will be sent');
  }

  // --- storage helpers (all guarded: Safari private mode and strict privacy
  // settings make localStorage throw, and tracking must never break the page) --
  function lsGet(k) {
    try { return w.localStorage.getItem(k); } catch (e) { return null; }
  }
  function lsSet(k, v) {
    try { w.localStorage.setItem(k, v); } catch (e) { /* full or blocked */ }
  }
  function lsDel(k) {
    try { w.localStorage.removeItem(k); } catch (e) { /* blocked */ }
  }
  function getCookie(name) {
    var m = doc.cookie.match(new RegExp('(?:^|; )' + name + '=([^;]*)'));
    return m ? decodeURIComponent(m[1]) : null;
  }
  function setCookie(name, value, maxAge) {
    var c = name + '=' + encodeURIComponent(value) + '; Max-Age=' + maxAge + '; Path=/; SameSite=Lax';
    if (cookieDomain) c += '; Domain=' + cookieDomain;
    if (location.protocol === 'https:') c += '; Secure';
    doc.cookie = c;
  }

  function uuid() {
    var c = w.crypto;
    if (c && c.randomUUID) return c.randomUUID(); // secure contexts only
    var b = new Uint8Array(16);
    if (c && c.getRandomValues) c.getRandomValues(b);
    else for (var i = 0; i < 16; i++) b[i] = Math.random() * 256;
    b[6] = (b[6] & 15) | 64; // version 4
    b[8] = (b[8] & 63) | 128; // RFC 4122 variant
    var h = Array.from(b, function (x) { return (x + 256).toString(16).slice(1); }).join('');
    return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
  }

  // --- consent ---------------------------------------------------------------
  function hasOptedOut() {
    return getCookie('crm_optout') === '1' ||
      nav.globalPrivacyControl === true ||
      (consentDeclined && !optedInHere);
  }

  // --- visitor id --------------------------------------------------------------
  // Cookie first (shared across subdomains when cookieDomain is set), then the
  // localStorage mirror (survives cookie clearing/ITP's 7-day cap on script
  // cookies); re-writing both on every load refreshes the expiry.
  var aid = null;
  function ensureAnonymousId() {
    if (!aid) {
      var found = getCookie('crm_aid') || lsGet('crm_aid');
      aid = found && /^[\w-]{8,64}$/.test(found) ? found : uuid();
      setCookie('crm_aid', aid, TWO_YEARS);
      lsSet('crm_aid', aid);
    }
    return aid;
  }

  // --- page context ------------------------------------------------------------
  // Strip ?crm_ct= before anything records the URL: the token identifies a
  // customer and must not be shared in copied links or sent as a referrer.
  var customerToken = null;
  try {
    var params = new URLSearchParams(location.search);
    customerToken = params.get('crm_ct');
    if (customerToken) {
      params.delete('crm_ct');
      var qs = params.toString();
      history.replaceState(history.state, '', location.pathname + (qs ? '?' + qs : '') + location.hash);
    }
  } catch (e) { /* old browser or sandboxed iframe: keep the URL as is */ }

  // For single-page apps, page() moves the referrer to the previous URL.
  var referrer = doc.referrer;
  var currentUrl = location.href;

  function pageContext() {
    return { url: location.href, path: location.pathname, referrer: referrer, title: doc.title };
  }

  // --- queue and delivery ----------------------------------------------------
  var queue = [];
  var timer = 0;
  var userId = null;

  function enqueue(type, fields) {
    if (!writeKey || !endpoint || hasOptedOut()) return;
    var msg = Object.assign({
      type: type,
      anonymousId: ensureAnonymousId(),
      messageId: uuid(),
      timestamp: new Date().toISOString(),
      context: {
        page: pageContext(),
        userAgent: nav.userAgent,
        library: { name: 'crm-track', version: VERSION }
      }
    }, fields);
    if (userId) msg.userId = userId;
    log(type, msg.event || msg.name || '', msg);
    queue.push(msg);
    if (queue.length >= BATCH_SIZE) flush();
    else if (!timer) timer = setTimeout(flush, FLUSH_MS);
  }

  function readStore() {
    try { return JSON.parse(lsGet(STORE_KEY)) || []; } catch (e) { return []; }
  }

  // Keep failed messages for later; when over the cap, the oldest go first.
  function store(batch) {
    if (hasOptedOut()) return;
    lsSet(STORE_KEY, JSON.stringify(readStore().concat(batch).slice(-STORE_MAX)));
    log('stored for retry', batch.length);
  }

  function post(batch) {
    var url = endpoint + '/v1/batch';
    var body = JSON.stringify({ batch: batch, sentAt: new Date().toISOString(), writeKey: writeKey });
    log('send', batch.length);
    if (nav.sendBeacon) {
      // Survives page unload. text/plain keeps it a CORS "simple" request.
      var ok = false;
      try { ok = nav.sendBeacon(url, new Blob([body], { type: 'text/plain' })); } catch (e) { /* CSP etc. */ }
      if (!ok) store(batch); // false = browser refused to queue it (size/quota)
    } else if (w.fetch) {
      // A string body is sent as text/plain too, so no preflight either.
      fetch(url, { method: 'POST', body: body, keepalive: true, mode: 'cors', credentials: 'omit' })
        .then(function (r) { if (!r.ok) store(batch); }, function () { store(batch); });
    } else {
      store(batch);
    }
  }

  function flush() {
    clearTimeout(timer);
    timer = 0;
    if (!writeKey || !endpoint || hasOptedOut()) {
      queue = [];
      return;
    }
    // Earlier failures go first so the collector sees events roughly in order.
    var msgs = readStore();
    lsDel(STORE_KEY);
    msgs = msgs.concat(queue);
    queue = [];
    var chunk = [];
    var size = 0;
    msgs.forEach(function (m) {
      var len = JSON.stringify(m).length;
      if (chunk.length && (chunk.length >= BATCH_SIZE || size + len > MAX_BODY)) {
        post(chunk);
        chunk = [];
        size = 0;
      }
      chunk.push(m);
      size += len;
    });
    if (chunk.length) post(chunk);
  }

  // --- public calls ------------------------------------------------------------
  function track(event, properties) {
    if (typeof event !== 'string' || !event) return;
    enqueue('track', { event: event, properties: properties || {} });
  }

  function identify(id, traits) {
    if (typeof id === 'string' || typeof id === 'number') userId = String(id);
    else traits = id;
    enqueue('identify', { traits: traits || {} });
  }

  function pageType() {
    return (doc.body && doc.body.dataset.crmPageType) || 'other';
  }

  function num(v) {
    var n = parseFloat(String(v).replace(/[^0-9.-]/g, ''));
    return isFinite(n) ? n : undefined;
  }

  // data-vin="..." etc. -> ASC item_* properties; absent attributes are left out.
  var VEHICLE_ATTRS = {
    vin: 'item_id', stock: 'item_number', year: 'item_year', make: 'item_make',
    model: 'item_model', trim: 'item_variant', price: 'item_price', condition: 'item_condition'
  };
  function vehicleProps(el) {
    var p = {};
    if (!el) return p;
    Object.keys(VEHICLE_ATTRS).forEach(function (k) {
      var v = el.dataset[k];
      if (v == null || v === '') return;
      if (k === 'year' || k === 'price') v = num(v);
      else if (k === 'condition') v = v.toLowerCase();
      if (v !== undefined) p[VEHICLE_ATTRS[k]] = v;
    });
    return p;
  }

  function pageVehicle() {
    return pageType() === 'vdp' ? doc.querySelector('[data-crm-vehicle]') : null;
  }

  // One page view: the Segment page message plus the ASC events that describe it.
  function page(properties) {
    var props = Object.assign({}, properties);
    if (location.href !== currentUrl) {
      referrer = currentUrl;
      currentUrl = location.href;
    }
    var type = props.page_type || pageType();
    var ctx = pageContext();
    enqueue('page', {
      name: props.name || doc.title,
      properties: Object.assign({ page_type: type, url: ctx.url, path: ctx.path, referrer: ctx.referrer, title: ctx.title }, props)
    });
    track('asc_pageview', Object.assign({}, props, { page_type: type }));

    if (type === 'vdp') {
      var v = doc.querySelector('[data-crm-vehicle]');
      if (v) track('asc_item_pageview', Object.assign(vehicleProps(v), { page_type: 'item' }));
    } else if (type === 'srp') {
      var list = { item_results: doc.querySelectorAll('[data-crm-vehicle-card]').length, page_type: 'itemlist' };
      var f = doc.querySelector('[data-crm-filters]');
      if (f) {
        // data-body-style="suv" -> filters.body_style = "suv"
        list.filters = {};
        Object.keys(f.dataset).forEach(function (k) {
          if (k !== 'crmFilters' && f.dataset[k] !== '') {
            list.filters[k.replace(/[A-Z]/g, function (c) { return '_' + c.toLowerCase(); })] = f.dataset[k];
          }
        });
      }
      track('asc_itemlist_pageview', list);
    }
  }

  function optOut() {
    setCookie('crm_optout', '1', TWO_YEARS);
    optedInHere = false;
    // Forget everything: pending messages, stored retries and the visitor id.
    clearTimeout(timer);
    timer = 0;
    queue = [];
    aid = null;
    lsDel(STORE_KEY);
    lsDel('crm_aid');
    lsDel('crm_ct_sent');
    setCookie('crm_aid', '', 0);
    log('opted out');
  }

  function optIn() {
    if (getCookie('crm_optout')) setCookie('crm_optout', '', 0);
    optedInHere = true;
    log('opted in', hasOptedOut() ? '(still blocked by Global Privacy Control)' : '');
    whenReady(start);
  }

  // --- automatic tracking ------------------------------------------------------
  function closest(target, selector) {
    return target && target.closest ? target.closest(selector) : null;
  }

  function text(el) {
    var t = el.textContent || el.value || el.getAttribute('aria-label') || el.title || '';
    return t.replace(/\s+/g, ' ').trim().slice(0, 100);
  }

  // Capture phase: still seen when the site's own handlers stop propagation.
  doc.addEventListener('click', function (e) {
    var el = closest(e.target, '[data-crm-cta]');
    if (!el) return;
    var card = closest(el, '[data-crm-vehicle-card],[data-crm-vehicle]');
    var props = Object.assign(vehicleProps(card || pageVehicle()), {
      element_text: text(el),
      element_type: el.dataset.crmCta || 'other',
      event_action: el.dataset.crmAction || 'click',
      page_type: pageType()
    });
    if (typeof el.href === 'string' && el.href) props.link_url = el.href;
    track('asc_cta_interaction', props);
    flush(); // the click may navigate away (or open the dialer) right now
  }, true);

  function formInfo(el) {
    return {
      form_type: el.dataset.crmForm || 'contact',
      form_id: el.dataset.crmFormId || el.getAttribute('id') || el.getAttribute('name') || ''
    };
  }

  var startedForms = new WeakSet();
  function onFormEngage(e) {
    var el = closest(e.target, '[data-crm-form]');
    if (!el || startedForms.has(el)) return;
    startedForms.add(el);
    track('asc_form_engagement', Object.assign(formInfo(el), { event_action_result: 'start', page_type: pageType() }));
  }
  doc.addEventListener('focusin', onFormEngage, true);
  doc.addEventListener('input', onFormEngage, true);

  doc.addEventListener('submit', function (e) {
    var el = closest(e.target, '[data-crm-form]');
    if (!el) return;
    // identify first, so the submission is attributed to the now-known visitor.
    var traits = {};
    TRAIT_FIELDS.forEach(function (name) {
      var f = el.querySelector('[name="' + name + '"]');
      var v = f && typeof f.value === 'string' ? f.value.trim() : '';
      if (v) traits[name] = v;
    });
    if (Object.keys(traits).length) identify(traits);
    track('asc_form_submission', Object.assign(formInfo(el), {
      comm_type: 'form',
      department: el.dataset.crmDepartment || 'sales',
      page_type: pageType()
    }));
    flush(); // sendBeacon survives the navigation the submit starts; no preventDefault
  }, true);

  // Last chance to send: pagehide covers unload and bfcache; visibilitychange
  // covers mobile tab switches, after which the page may be killed silently.
  w.addEventListener('pagehide', flush);
  doc.addEventListener('visibilitychange', function () {
    if (doc.visibilityState === 'hidden') flush();
  });

  function whenReady(fn) {
    if (doc.readyState === 'loading') doc.addEventListener('DOMContentLoaded', fn);
    else fn();
  }

  // Load-time work; runs once, and only while tracking is allowed (optIn() may
  // start it later on the same page).
  var started = false;
  function start() {
    if (started || hasOptedOut() || !writeKey || !endpoint) return;
    started = true;
    if (autoPage) page();
    // Link this visitor to the customer from the email/text link, once per
    // visitor id and token (reloads and back-navigation don't repeat it).
    if (customerToken) {
      var mark = ensureAnonymousId() + ':' + customerToken;
      if (lsGet('crm_ct_sent') !== mark) {
        identify({ customer_token: customerToken });
        lsSet('crm_ct_sent', mark);
      }
    }
    flush(); // also retries what failed on earlier pages
  }

  // --- public object and pre-load queue ------------------------------------
  var api = {
    __crm: true,
    version: VERSION,
    track: track,
    page: page,
    identify: identify,
    optOut: optOut,
    optIn: optIn,
    hasOptedOut: hasOptedOut,
    flush: flush,
    anonymousId: function () { return hasOptedOut() ? null : ensureAnonymousId(); },
    // Keeps crmTrack.push([...]) working after load.
    push: function (args) {
      args = [].slice.call(args || []);
      var fn = api[args[0]];
      if (typeof fn === 'function' && args[0] !== 'push') {
        try { fn.apply(api, args.slice(1)); } catch (e) { log('error in', args[0], e); }
      }
    }
  };

  var preload = Array.isArray(w.crmTrack) ? w.crmTrack : [];
  w.crmTrack = api;

  // Consent calls first, so an early optOut() stops even the automatic page view.
  function isConsent(c) { return c && (c[0] === 'optOut' || c[0] === 'optIn'); }
  preload.filter(isConsent).forEach(api.push);
  whenReady(start);
  preload.filter(function (c) { return !isConsent(c); }).forEach(api.push);
})();
