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

  // "1 December 2026", the date as the build writes it (in UTC).
  function longDate(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return iso;
    return d.getUTCDate() + " " + MONTHS[d.getUTCMonth()] + " " + d.getUTCFullYear();
  }

  // The poll's state in the build's words, so a poll that closes (or opens)
  // after the page was built says so without waiting for a rebuild.
  function statusText(data) {
    if (data.status === "open") {
      return "This poll is open" + (data.closes ? " until " + longDate(data.closes) : "") + ".";
    }
    if (data.status === "closed") return "This poll closed on " + longDate(data.closes) + ".";
    return "This poll opens on " + longDate(data.opens) + ".";
  }

  function setText(element, text) {
    if (element && element.textContent !== text) element.textContent = text;
  }

  function renderResults(section, data) {
    setText(section.querySelector("[data-status]"), statusText(data));
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
    // counted_to is the hour of the newest sealed batch (never finer).
    if (updated && data.counted_to && updated.getAttribute("datetime") !== data.counted_to) {
      updated.setAttribute("datetime", data.counted_to);
      setText(updated, longTime(data.counted_to));
    }
    renderDaily(section, data);
    // Charts are images: ask for the new version only when the numbers changed.
    var version = String(data.ledger_size);
    section.querySelectorAll("img[data-chart]").forEach(function (image) {
      if (image.getAttribute("data-version") === version) return;
      image.setAttribute("data-version", version);
      image.src = image.src.split("?")[0] + "?v=" + encodeURIComponent(version);
    });
  }

  function cell(tag, text) {
    var element = document.createElement(tag);
    element.textContent = text;
    return element;
  }

  // The daily table: one row per day, newest last, as the build renders it.
  function renderDaily(section, data) {
    var region = section.querySelector("[data-daily-region]");
    var body = section.querySelector("[data-daily]");
    if (!region || !body || !data.daily) return;
    var rows = Number(region.getAttribute("data-daily-rows")) || 30;
    var days = data.daily.slice(-rows);
    var options = data.options || [];
    body.replaceChildren.apply(body, days.map(function (day) {
      var row = document.createElement("tr");
      var heading = cell("th", "");
      heading.setAttribute("scope", "row");
      var time = cell("time", day.date);
      time.setAttribute("datetime", day.date);
      heading.appendChild(time);
      row.appendChild(heading);
      options.forEach(function (option) {
        row.appendChild(cell("td", (day.counts[option.id] || 0).toLocaleString("en-GB")));
      });
      row.appendChild(cell("td", day.total.toLocaleString("en-GB")));
      return row;
    }));
    region.hidden = days.length === 0;
    var empty = section.querySelector("[data-no-votes]");
    if (empty) empty.hidden = days.length > 0;
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
