// The GOV.UK error summary: move focus to it when the page loads, so screen
// reader and keyboard users start at the list of problems; its links move
// focus to the field and scroll its question (the legend) into view.
(function () {
  "use strict";

  var summary = document.querySelector('[data-module="error-summary"]');
  if (!summary) return;

  summary.setAttribute("tabindex", "-1");
  summary.addEventListener("blur", function () {
    summary.removeAttribute("tabindex");
  });
  summary.focus();

  summary.addEventListener("click", function (event) {
    var link = event.target.closest('a[href^="#"]');
    var input = link && document.getElementById(link.hash.slice(1));
    if (!input) return;
    event.preventDefault();
    var fieldset = input.closest("fieldset");
    var legend = fieldset && fieldset.querySelector("legend");
    (legend || input).scrollIntoView();
    input.focus({ preventScroll: true });
  });
})();
