/* The demo dealer website's own behaviour: calculators, form panels, chat, consent buttons.
 * It reports the CRM events that track.js cannot see by itself (calculators, chat, offers) with
 * crmTrack.push([...]), which works before and after track.js has loaded. */
(function () {
  'use strict';
  window.crmTrack = window.crmTrack || [];
  function track(event, props) { window.crmTrack.push(['track', event, props || {}]); }
  function flush() { window.crmTrack.push(['flush']); }
  function $(sel, root) { return (root || document).querySelector(sel); }
  function num(v) { var n = parseFloat(String(v == null ? '' : v).replace(/[^0-9.]/g, '')); return isFinite(n) ? n : NaN; }
  function money(n) { return '$' + Math.round(n).toLocaleString('en-US'); }

  // The calculators answer on the page; Enter in them must not submit anything.
  ['#payment-form', '#trade-form'].forEach(function (sel) {
    var form = $(sel);
    if (form) form.addEventListener('submit', function (event) { event.preventDefault(); });
  });
  // <select data-autosubmit data-clears="model">: a new make starts the model over and applies at once.
  document.addEventListener('change', function (event) {
    var select = event.target;
    if (!select.hasAttribute || !select.hasAttribute('data-autosubmit') || !select.form) return;
    var clear = select.getAttribute('data-clears');
    if (clear && select.form.elements[clear]) select.form.elements[clear].value = '';
    select.form.submit();
  });

  var vehicleEl = $('[data-crm-vehicle]');
  var vehicle = vehicleEl ? {
    item_id: vehicleEl.dataset.vin, item_price: num(vehicleEl.dataset.price), item_make: vehicleEl.dataset.make,
    item_model: vehicleEl.dataset.model, item_year: num(vehicleEl.dataset.year)
  } : {};

  function openForm(name) {
    var panel = $('[data-form-panel="' + name + '"]');
    if (!panel) return null;
    panel.hidden = false;
    panel.scrollIntoView({ behavior: 'smooth', block: 'start' });
    var first = panel.querySelector('input:not([type=hidden]), select, textarea');
    if (first) first.focus({ preventScroll: true });
    return panel;
  }

  document.addEventListener('click', function (e) {
    var opener = e.target.closest('[data-open-form]');
    if (opener && opener.id !== 'credit-start') {
      if (openForm(opener.dataset.openForm)) e.preventDefault();
    }
  });

  // Monthly payment: the standard amortization formula; a lease is approximated with a 55% residual.
  function payment(price, down, term, apr, type) {
    var financed = Math.max(0, price - down);
    var r = apr / 1200;
    if (type === 'lease') {
      var residual = price * 0.55;
      return (financed - residual) / term + (financed + residual) * (apr / 2400);
    }
    return r === 0 ? financed / term : financed * r / (1 - Math.pow(1 + r, -term));
  }

  var payBtn = $('#payment-calc');
  if (payBtn) payBtn.addEventListener('click', function () {
    var f = $('#payment-form');
    var price = num(f.price.value), down = num(f.down.value) || 0, term = parseInt(f.term.value, 10), apr = num(f.apr.value);
    var out = $('#payment-result');
    if (!(price > 0) || !(apr >= 0) || down >= price) {
      out.textContent = 'Enter a price, a down payment below the price, and an APR.';
      return;
    }
    var monthly = Math.round(payment(price, down, term, apr, f.payment_type.value) * 100) / 100;
    out.textContent = 'About ' + money(monthly) + ' a month for ' + term + ' months (' + f.payment_type.value + ', ' + apr + '% APR).';
    track('payment_calculator_used', Object.assign({}, vehicle, {
      payment_type: f.payment_type.value, down_payment: down, term_months: term, apr: apr, monthly_payment: monthly
    }));
  });

  var creditBtn = $('#credit-start');
  if (creditBtn) creditBtn.addEventListener('click', function () {
    track('credit_application_started', { application_type: 'individual', item_id: vehicle.item_id });
    openForm('credit');
  });

  // A rough trade-in estimate: 15% a year off a base, adjusted for mileage and condition.
  var CONDITION = { excellent: 1.08, good: 1.0, fair: 0.88, poor: 0.7 };
  function tradeEstimate(year, mileage, condition) {
    var age = Math.max(0, new Date().getFullYear() - year);
    var base = 30000 * Math.pow(0.85, age);
    var expected = 12000 * Math.max(age, 1);
    var mileageFactor = Math.min(1.1, Math.max(0.5, 1 - (mileage - expected) / 150000));
    return Math.max(500, Math.round(base * mileageFactor * (CONDITION[condition] || 1) / 50) * 50);
  }

  var tradeBtn = $('#trade-calc');
  if (tradeBtn) tradeBtn.addEventListener('click', function () {
    var f = $('#trade-form');
    var err = $('#trade-error');
    var year = parseInt(f.year.value, 10), mileage = num(f.mileage.value);
    var make = f.make.value.trim(), model = f.model.value.trim();
    if (!(year >= 1990 && year <= new Date().getFullYear() + 1) || !make || !model || !(mileage >= 0)) {
      err.textContent = 'Enter the year (1990 or later), make, model and mileage of your vehicle.';
      err.hidden = false;
      return;
    }
    err.hidden = true;
    var estimate = tradeEstimate(year, mileage, f.condition.value);
    $('#trade-result').textContent = 'Estimated trade-in value: ' + money(estimate * 0.93) + ' – ' + money(estimate * 1.07) +
      ' (around ' + money(estimate) + '). Get a firm offer below.';
    track('trade_in_calculator_completed', {
      trade_year: year, trade_make: make, trade_model: model, trade_mileage: mileage,
      trade_condition: f.condition.value, estimated_value: estimate, item_id: vehicle.item_id
    });
    // Carry the answers into the firm-offer form so the shopper types them once.
    var offer = $('#form-trade');
    if (offer) {
      offer.trade_year.value = year; offer.trade_make.value = make; offer.trade_model.value = model;
      offer.trade_mileage.value = mileage; offer.trade_condition.value = f.condition.value;
      offer.estimated_value.value = estimate;
    }
    openForm('trade');
  });

  var chatBtn = $('#chat-start');
  if (chatBtn) chatBtn.addEventListener('click', function () {
    track('chat_started', { chat_provider: 'demo', department: 'sales', item_id: vehicle.item_id });
    $('#chat-box').hidden = false;
  });

  document.querySelectorAll('[data-offer]').forEach(function (btn) {
    btn.addEventListener('click', function () {
      track('asc_special_offer', { offer_id: btn.dataset.offer, offer_type: 'finance', event_action: 'click',
        page_type: document.body.dataset.crmPageType });
      btn.textContent = 'Offer applied to every new vehicle below';
    });
  });

  var alertForm = $('#form-price_alert');
  if (alertForm) alertForm.addEventListener('submit', function () {
    // track.js adds identify({email}) and asc_form_submission itself; this is the CRM's own event.
    track('price_drop_alert_subscribed', { item_id: vehicle.item_id, item_price: vehicle.item_price,
      target_price: num(alertForm.target_price.value) });
    flush();
  });

  // "Do not track me": track.js forgets the visitor and sends nothing until allowed again.
  var decline = $('#privacy-decline'), allow = $('#privacy-allow');
  function showConsent() {
    var out = window.crmTrack.hasOptedOut ? window.crmTrack.hasOptedOut() : false;
    if (decline) decline.hidden = out;
    if (allow) allow.hidden = !out;
  }
  if (decline) decline.addEventListener('click', function () { window.crmTrack.push(['optOut']); showConsent(); });
  if (allow) allow.addEventListener('click', function () { window.crmTrack.push(['optIn']); showConsent(); });
  window.addEventListener('load', showConsent);
})();
