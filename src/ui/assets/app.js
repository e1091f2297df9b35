// smart-ai-router web UI: charts (uPlot, when the page loads it) and the live refresh of
// `#live` blocks. The pages read without this script; it only adds to them.
(function () {
  "use strict";

  function drawCharts(root) {
    if (!window.uPlot) return;
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      var island = document.getElementById(el.getAttribute("data-chart"));
      if (!island) return;
      var data;
      try { data = JSON.parse(island.textContent); } catch (e) { return; }
      el.textContent = "";
      var colors = ["#2f6fed", "#c01048", "#12805c", "#b54708"];
      var series = [{}].concat(data.series.map(function (s, i) {
        return { label: s.label, stroke: colors[i % colors.length], width: 2,
                 fill: i === 0 ? "rgba(47,111,237,0.08)" : undefined, scale: s.scale || "y" };
      }));
      var axes = [{}, { scale: "y" }];
      if (data.series.some(function (s) { return s.scale === "r"; })) {
        axes.push({ scale: "r", side: 1, grid: { show: false } });
      }
      var opts = { title: data.title, width: Math.max(280, el.clientWidth - 16), height: 200,
                   series: series, axes: axes, scales: { x: { time: true } } };
      new window.uPlot(opts, [data.x].concat(data.series.map(function (s) { return s.values; })), el);
    });
  }

  function refreshLive() {
    var live = document.getElementById("live");
    if (!live) return;
    var every = parseInt(live.getAttribute("data-refresh-s") || "15", 10) * 1000;
    setInterval(function () {
      fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (text) {
          var fresh = new DOMParser().parseFromString(text, "text/html").getElementById("live");
          if (!fresh) return;
          live.innerHTML = fresh.innerHTML;
          drawCharts(live);
        })
        .catch(function () { /* keep the page as it is; try again next time */ });
    }, every);
  }

  drawCharts(document);
  refreshLive();
})();
