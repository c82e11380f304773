// QA UI keyboard shortcuts (the pages work without them): on the queue j/k move between sessions,
// Enter opens the focused one; on a session page n opens the next session to review and r marks
// this one reviewed. Keys typed into a form field are left alone.
document.addEventListener("keydown", function (event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  var target = event.target;
  if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
  var links = Array.prototype.slice.call(document.querySelectorAll("a.session-link"));
  if ((event.key === "j" || event.key === "k") && links.length) {
    var index = links.indexOf(document.activeElement);
    var step = event.key === "j" ? 1 : -1;
    var next = index < 0 ? 0 : Math.min(links.length - 1, Math.max(0, index + step));
    links[next].focus();
    event.preventDefault();
  } else if (event.key === "n") {
    var nextSession = document.querySelector("a[data-key='next']");
    if (nextSession) window.location.assign(nextSession.href);
  } else if (event.key === "r") {
    var form = document.querySelector("form.review");
    if (form) {
      form.elements.status.value = "reviewed";
      form.requestSubmit();
    }
  }
});

// Axes for the metrics bar charts: each bar's title is "YYYY-MM-DD: value"; the chart gets a value
// axis (0, half and the peak) and a date axis (first, middle and last day) built from them.
document.addEventListener("DOMContentLoaded", function () {
  Array.prototype.forEach.call(document.querySelectorAll("figure.chart .bars"), function (bars) {
    var points = Array.prototype.map.call(bars.children, function (bar) {
      var parts = (bar.getAttribute("title") || "").split(": ");
      return { day: parts[0], value: parseFloat(parts[1]) };
    }).filter(function (point) { return /^\d{4}-\d{2}-\d{2}$/.test(point.day); });
    if (!points.length) return;
    var peak = Math.max.apply(null, points.map(function (p) { return isNaN(p.value) ? 0 : p.value; }));
    var format = new Intl.NumberFormat("en", { maximumFractionDigits: peak < 10 ? 1 : 0, useGrouping: true });
    var frame = document.createElement("div");
    frame.className = "chart-frame";
    bars.parentNode.insertBefore(frame, bars);
    var yAxis = document.createElement("div");
    yAxis.className = "y-axis";
    yAxis.setAttribute("aria-hidden", "true");
    var top = Math.max(peak, 1);
    [top, top / 2, 0].forEach(function (tick) {
      var label = document.createElement("span");
      label.textContent = format.format(tick);
      yAxis.appendChild(label);
    });
    var xAxis = document.createElement("div");
    xAxis.className = "x-axis";
    xAxis.setAttribute("aria-hidden", "true");
    var picks = [points[0], points[Math.floor(points.length / 2)], points[points.length - 1]];
    picks.forEach(function (point) {
      var label = document.createElement("span");
      label.textContent = point.day;
      xAxis.appendChild(label);
    });
    frame.appendChild(yAxis);
    frame.appendChild(bars);
    frame.appendChild(xAxis);
  });
});
