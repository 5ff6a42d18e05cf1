// Draws the dashboard's charts with Chart.js (from npm) from the JSON the server renders beside each table.
// Runs on page load and again after every htmx swap of the dashboard body (filters changed).
(function () {
  "use strict";

  var PALETTE = ["#1f4fd6", "#e8590c", "#1b873f", "#8e44ad", "#d9a100", "#0f766e", "#c4161c", "#667085"];
  var PREVIOUS = "#c3cad6";

  function formatValue(value, unit) {
    if (value === null || value === undefined) return "—";
    if (unit === "percent") return value.toFixed(1) + "%";
    if (unit === "minutes") return value >= 120 ? (value / 60).toFixed(1) + " h" : value.toFixed(1) + " min";
    return Math.round(value).toLocaleString();
  }

  function axisTitle(unit) {
    return { percent: "Percent", minutes: "Minutes", count: "Count" }[unit] || "";
  }

  function draw(canvas, spec) {
    var existing = window.Chart.getChart(canvas);
    if (existing) existing.destroy();
    var comparing = spec.datasets.length === 2 && spec.datasets[1].label === "Previous period";
    var datasets = spec.datasets.map(function (set, i) {
      var colour = comparing && i === 1 ? PREVIOUS : PALETTE[i % PALETTE.length];
      return {
        label: set.label, data: set.data, backgroundColor: colour, borderColor: colour,
        borderWidth: spec.type === "line" ? 2 : 0, tension: 0.25, pointRadius: spec.labels.length > 40 ? 0 : 3,
        spanGaps: true,
      };
    });
    var valueAxis = {
      beginAtZero: true, title: { display: true, text: axisTitle(spec.unit) },
      ticks: { callback: function (v) { return formatValue(v, spec.unit === "count" ? "count" : spec.unit); } },
    };
    if (spec.unit === "percent") valueAxis.suggestedMax = 100;
    var categoryAxis = { ticks: { autoSkip: spec.labels.length > 12, maxRotation: 0 } };
    return new window.Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: datasets },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        indexAxis: spec.horizontal ? "y" : "x",
        interaction: { mode: "index", intersect: false },
        scales: spec.horizontal ? { x: valueAxis, y: categoryAxis } : { x: categoryAxis, y: valueAxis },
        plugins: {
          legend: { display: datasets.length > 1, position: "bottom" },
          tooltip: {
            callbacks: {
              label: function (ctx) {
                var raw = spec.horizontal ? ctx.parsed.x : ctx.parsed.y;
                return ctx.dataset.label + ": " + formatValue(raw, spec.unit);
              },
            },
          },
        },
      },
    });
  }

  function drawAll(root) {
    var data = document.getElementById("kpi-charts");
    if (!data || !window.Chart) return;
    var specs = JSON.parse(data.textContent);
    (root || document).querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var spec = specs[canvas.dataset.chart];
      if (spec) draw(canvas, spec);
    });
    document.documentElement.dataset.kpiCharts = "drawn";
  }

  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.target && event.target.id === "kpi-body") drawAll(event.target);
  });
  // Typing a date means a custom period: clear the preset before htmx (listening on the form) sends it.
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field.form && (field.name === "start" || field.name === "end") && field.form.elements.preset) {
      field.form.elements.preset.value = "";
    }
  }, true);
  // Invalid filters come back as 400 with the reasons: show them instead of silently keeping old numbers.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr.status === 400 && event.detail.target && event.detail.target.id === "kpi-body") {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
