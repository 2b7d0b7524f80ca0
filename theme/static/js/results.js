// Results pages: refresh the numbers from results.json without a reload.
// Progressive enhancement only: the page already holds the numbers from the build.
(function () {
  "use strict";

  var REFRESH_MS = 5000;
  var MONTHS = ["January", "February", "March", "April", "May", "June", "July",
    "August", "September", "October", "November", "December"];

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  // The same wording as the build: "21 November 2026 at 10:02 UTC".
  function longTime(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return iso;
    return d.getUTCDate() + " " + MONTHS[d.getUTCMonth()] + " " + d.getUTCFullYear() +
      " at " + pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + " UTC";
  }

  function setText(element, text) {
    if (element && element.textContent !== text) element.textContent = text;
  }

  function renderResults(section, data) {
    section.querySelectorAll("[data-total]").forEach(function (total) {
      setText(total, data.total.toLocaleString("en-GB"));
    });
    (data.options || []).forEach(function (option) {
      setText(section.querySelector('[data-count="' + option.id + '"]'),
        option.count.toLocaleString("en-GB"));
      setText(section.querySelector('[data-percentage="' + option.id + '"]'),
        option.percentage.toFixed(1) + "%");
    });
    var updated = section.querySelector("[data-updated]");
    if (updated && updated.getAttribute("datetime") !== data.updated_at) {
      updated.setAttribute("datetime", data.updated_at);
      setText(updated, longTime(data.updated_at));
    }
    // Charts are images: ask for the new version only when the numbers changed.
    var version = String(data.last_ballot_id);
    section.querySelectorAll("img[data-chart]").forEach(function (image) {
      if (image.getAttribute("data-version") === version) return;
      image.setAttribute("data-version", version);
      image.src = image.src.split("?")[0] + "?v=" + encodeURIComponent(version);
    });
  }

  function refresh(section) {
    fetch(section.getAttribute("data-results-url"), { cache: "no-cache" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data) renderResults(section, data); })
      .catch(function () { /* keep the numbers from the build */ });
  }

  // Poll only while the page is on screen, and catch up as soon as it is again.
  document.querySelectorAll("[data-results-url]").forEach(function (section) {
    refresh(section);
    setInterval(function () { if (!document.hidden) refresh(section); }, REFRESH_MS);
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden) refresh(section);
    });
  });
})();
