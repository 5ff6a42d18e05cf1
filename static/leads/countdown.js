/* Live countdowns to lead response deadlines.
 *
 * Any element with data-deadline="<ISO 8601 instant>" shows the time left (or how long it is overdue),
 * updated every second. data-warn-at marks when it turns amber. Elements swapped in by htmx are picked
 * up on the next tick, so rows re-rendered after an action keep counting without extra wiring.
 */
(function () {
  "use strict";

  function pad(n) { return String(n).padStart(2, "0"); }

  function format(ms) {
    var total = Math.floor(Math.abs(ms) / 1000);
    var h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
    return h ? h + ":" + pad(m) + ":" + pad(s) : m + ":" + pad(s);
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-deadline]").forEach(function (el) {
      var deadline = Date.parse(el.dataset.deadline);
      if (isNaN(deadline)) { return; }
      var left = deadline - now;
      var warnAt = el.dataset.warnAt ? Date.parse(el.dataset.warnAt) : deadline - 5 * 60 * 1000;
      el.textContent = left >= 0 ? format(left) + " left" : "overdue " + format(left);
      el.classList.toggle("countdown-soon", left >= 0 && now >= warnAt);
      el.classList.toggle("countdown-overdue", left < 0);
      el.setAttribute("aria-label", el.textContent + " to respond");
    });
  }

  tick();
  window.setInterval(tick, 1000);
})();
