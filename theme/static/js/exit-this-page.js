// "Exit this page", after the GOV.UK Design System component. Without this
// file the button is a plain link to a neutral site. With it:
// - pressing Shift three times within 5 seconds also leaves the page;
// - leaving uses location.replace, so Back does not return here;
// - screen readers hear the Shift count (a live region) and "Loading."
//   (an alert overlay that also hides the page at once).
(function () {
  "use strict";

  var PRESSES_NEEDED = 3;
  var TIMEOUT_MS = 5000;

  var container = document.querySelector('[data-module="exit-this-page"]');
  var button = container && container.querySelector(".exit-this-page__button");
  if (!button) return;

  var presses = 0;
  var timer = null;
  var lastKeyWasModified = false;
  var overlay = null;

  // Three lights that show progress; decoration only, the status region speaks.
  var indicator = document.createElement("div");
  indicator.className = "exit-this-page__indicator";
  indicator.setAttribute("aria-hidden", "true");
  for (var i = 0; i < PRESSES_NEEDED; i++) indicator.appendChild(document.createElement("span"));
  button.insertAdjacentElement("afterend", indicator);

  // A polite, atomic live region: what role="status" means (GOV.UK uses the
  // role). Without the role, pages' own status messages stay the only
  // role="status" element, so tests and tools can find them unambiguously.
  var status = document.createElement("span");
  status.className = "visually-hidden";
  status.setAttribute("aria-live", "polite");
  status.setAttribute("aria-atomic", "true");
  indicator.insertAdjacentElement("afterend", status);

  function showProgress() {
    indicator.classList.toggle("exit-this-page__indicator--visible", presses > 0);
    Array.prototype.forEach.call(indicator.children, function (light, index) {
      light.classList.toggle("exit-this-page__light--on", index < presses);
    });
  }

  function reset() {
    presses = 0;
    clearTimeout(timer);
    timer = null;
    showProgress();
  }

  function exitPage() {
    reset();
    status.textContent = "";
    overlay = document.createElement("div");
    overlay.className = "exit-this-page-overlay";
    overlay.setAttribute("role", "alert");
    overlay.textContent = "Loading.";
    document.body.classList.add("exit-this-page-hide-content");
    document.body.appendChild(overlay);
    window.location.replace(button.href);
  }

  function countShift() {
    presses += 1;
    showProgress();
    if (presses >= PRESSES_NEEDED) {
      exitPage();
      return;
    }
    var left = PRESSES_NEEDED - presses;
    status.textContent = "Shift, press " + left + " more " + (left === 1 ? "time" : "times") + " to exit.";
    clearTimeout(timer);
    timer = setTimeout(function () {
      reset();
      status.textContent = "Exit this page expired.";
    }, TIMEOUT_MS);
  }

  button.addEventListener("click", function (event) {
    event.preventDefault();
    exitPage();
  });
  // It is announced as a button, so Space works as well as Enter.
  button.addEventListener("keydown", function (event) {
    if (event.key === " ") {
      event.preventDefault();
      exitPage();
    }
  });

  // Shift on its own counts; Shift used as a modifier (Shift+A, Shift+Tab) does not.
  document.addEventListener("keyup", function (event) {
    if (event.key === "Shift" && !lastKeyWasModified) {
      countShift();
    } else if (presses > 0) {
      reset();
      status.textContent = "";
    }
    lastKeyWasModified = event.shiftKey;
  });

  // Coming back from the browser's cache: show the page again.
  window.addEventListener("pageshow", function () {
    if (overlay) {
      overlay.remove();
      overlay = null;
    }
    document.body.classList.remove("exit-this-page-hide-content");
  });
})();
