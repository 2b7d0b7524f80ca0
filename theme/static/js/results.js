// Results pages: refresh the numbers from results.json. Progressive enhancement only.
(function () {
  "use strict";

  // Refresh published results in place from results.json.
  function renderResults(section, data) {
    var total = section.querySelector("[data-total]");
    if (total) total.textContent = data.total.toLocaleString("en-GB");
    (data.options || []).forEach(function (option) {
      var count = section.querySelector('[data-count="' + option.id + '"]');
      var share = section.querySelector('[data-percentage="' + option.id + '"]');
      if (count) count.textContent = option.count.toLocaleString("en-GB");
      if (share) share.textContent = option.percentage + "%";
    });
    var updated = section.querySelector("[data-updated]");
    if (updated) updated.textContent = data.updated_at;
  }

  function refresh(section) {
    fetch(section.getAttribute("data-results-url"), { cache: "no-cache" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data) renderResults(section, data); })
      .catch(function () { /* keep the numbers from the build */ });
  }

  document.querySelectorAll("[data-results-url]").forEach(function (section) {
    refresh(section);
    setInterval(function () { refresh(section); }, 5000);
  });
})();
