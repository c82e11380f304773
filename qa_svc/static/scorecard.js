// The scorecard of the review form by keyboard: on a criterion's rating buttons, 1-5 rate it,
// p and f pass or fail it, a marks it N/A (where its scale allows), and the focus moves on to the
// next criterion (after the last one, to the status select, then Save). Tab
// and the arrow keys work as on any radio group; Enter saves the form.
(function () {
  function criteria() {
    return Array.prototype.slice.call(document.querySelectorAll("#scorecard fieldset.criterion"));
  }

  function focusCriterion(fieldset) {
    var target = fieldset.querySelector("input[type=radio]:checked") ||
      fieldset.querySelector("input[type=radio]");
    if (target) target.focus();
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    if (!target || target.type !== "radio") return;
    var fieldset = target.closest("fieldset.criterion");
    if (!fieldset) return;
    var choice = fieldset.querySelector("input[data-shortcut='" + event.key + "']");
    if (!choice) return;
    event.preventDefault();
    choice.checked = true;
    choice.dispatchEvent(new Event("change", { bubbles: true }));
    var all = criteria();
    var next = all[all.indexOf(fieldset) + 1];
    if (next) {
      focusCriterion(next);
    } else {
      var status = document.querySelector("form.review select[name=status]");
      if (status) status.focus();
    }
  });
})();
