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
