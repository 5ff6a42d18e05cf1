/* Page behaviour that used to sit in inline attributes, so the Content-Security-Policy can forbid inline
 * script (script-src 'self', no 'unsafe-inline', no 'unsafe-eval'):
 *   <form data-confirm="...">            asks before submitting
 *   <button data-confirm="...">          asks before its click submits
 *   <select data-autosubmit>             submits its form on change
 *   <form data-reset-on-success>         an htmx form cleared after a 200 answer
 *   <div data-reload-on-success>         reloads the page after a successful htmx request inside it
 *   <button data-copy="element-id">      copies that element's text
 *   <button data-pause-polling="id">     pauses and resumes an htmx "every Ns" poller on element `id`
 *   <span data-width-percent="42">       a bar's width (set through the CSSOM, which CSP allows)
 */
(function () {
  'use strict';
  // htmx would insert a <style> element for its indicators; app.css carries those rules instead.
  if (window.htmx) { window.htmx.config.includeIndicatorStyles = false; window.htmx.config.allowEval = false; }

  document.addEventListener('submit', function (event) {
    var form = event.target;
    var message = form.getAttribute && form.getAttribute('data-confirm');
    if (message && !window.confirm(message)) event.preventDefault();
  }, true);

  document.addEventListener('click', function (event) {
    var button = event.target.closest && event.target.closest('[data-confirm]:not(form)');
    if (button && !window.confirm(button.getAttribute('data-confirm'))) { event.preventDefault(); return; }
    var copy = event.target.closest && event.target.closest('[data-copy]');
    if (copy) {
      var source = document.getElementById(copy.getAttribute('data-copy'));
      if (source && navigator.clipboard) navigator.clipboard.writeText(source.innerText);
      return;
    }
    var pause = event.target.closest && event.target.closest('[data-pause-polling]');
    if (pause) {
      var paused = pause.getAttribute('aria-pressed') !== 'true';
      pause.setAttribute('aria-pressed', String(paused));
      pause.textContent = paused ? 'Resume' : 'Pause';
    }
  });

  document.addEventListener('change', function (event) {
    var select = event.target;
    if (select.hasAttribute && select.hasAttribute('data-autosubmit') && select.form) {
      var clear = select.getAttribute('data-clears');
      if (clear && select.form.elements[clear]) select.form.elements[clear].value = '';
      select.form.submit();
    }
  });

  // A paused poller skips its requests until resumed.
  document.addEventListener('htmx:beforeRequest', function (event) {
    var source = event.detail && event.detail.elt;
    if (!source || !source.id) return;
    var pause = document.querySelector('[data-pause-polling="' + source.id + '"]');
    if (pause && pause.getAttribute('aria-pressed') === 'true') event.preventDefault();
  });

  document.addEventListener('htmx:afterRequest', function (event) {
    var elt = event.detail && event.detail.elt;
    if (!elt || !elt.closest) return;
    var form = elt.closest('[data-reset-on-success]');
    if (form && event.detail.xhr && event.detail.xhr.status === 200) form.reset();
    if (elt.closest('[data-reload-on-success]') && event.detail.successful) window.location.reload();
  });

  function applyWidths(root) {
    var bars = (root || document).querySelectorAll ? (root || document).querySelectorAll('[data-width-percent]') : [];
    for (var i = 0; i < bars.length; i++) {
      var value = parseFloat(bars[i].getAttribute('data-width-percent'));
      if (!isNaN(value)) bars[i].style.width = Math.max(0, Math.min(100, value)) + '%';
    }
  }
  document.addEventListener('DOMContentLoaded', function () { applyWidths(document); });
  document.addEventListener('htmx:afterSettle', function (event) { applyWidths(event.target); });
  // Rows inserted by the live feed's websocket (alerts-feed.js) are not htmx swaps.
  new MutationObserver(function (mutations) {
    for (var i = 0; i < mutations.length; i++) {
      for (var j = 0; j < mutations[i].addedNodes.length; j++) {
        var node = mutations[i].addedNodes[j];
        if (node.nodeType === 1) {
          if (node.hasAttribute('data-width-percent')) applyWidths(node.parentNode);
          else applyWidths(node);
        }
      }
    }
  }).observe(document.documentElement, { childList: true, subtree: true });
})();
