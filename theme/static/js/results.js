// Every page that shows a poll's numbers (the home page, a post with a poll,
// the results page): refresh them from the published results.json, at once and
// every few seconds, so a reader who has just voted never sees the older total
// the page was built with. Progressive enhancement only: the page already
// holds the numbers from the build. Each element with data-results-url is
// refreshed; one request per file however many elements show it.
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

  // ``live``: results handed over after a vote rather than the published file,
  // whose charts may not be drawn yet, so the charts wait for the file.
  function renderResults(section, data, live) {
    setText(section.querySelector("[data-status]"), statusText(data));
    section.querySelectorAll("[data-total]").forEach(function (total) {
      setText(total, data.total.toLocaleString("en-GB"));
    });
    section.querySelectorAll("[data-total-unit]").forEach(function (unit) {
      setText(unit, data.total === 1 ? "vote" : "votes");
    });
    renderMilestones(section, data);
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
    if (live) return;
    // Charts are images: ask for the new version only when the numbers changed.
    var version = String(data.ledger_size);
    section.querySelectorAll("img[data-chart]").forEach(function (image) {
      if (image.getAttribute("data-version") === version) return;
      image.setAttribute("data-version", version);
      image.src = image.src.split("?")[0] + "?v=" + encodeURIComponent(version);
    });
  }

  // Progress toward the next milestone not yet reached (the goal once all are),
  // and each milestone's status, as templates/partials/poll_progress.html has them.
  function renderMilestones(section, data) {
    var milestones = data.milestones || [];
    if (!milestones.length) return;
    var next = milestones.filter(function (m) { return data.total < m.count; })[0] ||
      milestones[milestones.length - 1];
    var count = next.count.toLocaleString("en-GB");
    var reached = data.total >= next.count;
    section.querySelectorAll("[data-next-milestone]").forEach(function (p) {
      var start = reached ? "Goal of " + count + " votes reached" : "Next milestone: " + count + " votes";
      var short = p.getAttribute("data-next-milestone") === "short";
      setText(p, short ? start + "." : start + (reached ? ": " : ". Then: ") + next.then);
    });
    section.querySelectorAll("[data-progress-bar]").forEach(function (bar) {
      bar.max = next.count;
      bar.value = Math.min(data.total, next.count);
    });
    milestones.forEach(function (milestone) {
      var item = section.querySelector('[data-milestone="' + milestone.count + '"]');
      var status = item && item.querySelector("[data-milestone-status]");
      if (!status) return;
      item.classList.toggle("milestones__item--reached", Boolean(milestone.reached_at));
      var time = status.querySelector("time");
      if (!milestone.reached_at) {
        setText(status, "Not reached yet.");
      } else if (!time || time.getAttribute("datetime") !== milestone.reached_at) {
        time = document.createElement("time");
        time.setAttribute("datetime", milestone.reached_at);
        time.textContent = longDate(milestone.reached_at);
        status.replaceChildren("Reached on ", time, ".");
      }
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

  // The longest ledger shown so far, per poll: a published file lags the live
  // count by a moment, and must not take back what poll.js has just shown.
  var newest = {};

  function render(url, data, live) {
    var size = data.ledger_size || 0;
    if (size < (newest[data.poll] || 0)) return;
    newest[data.poll] = size;
    document.querySelectorAll("[data-results-url]").forEach(function (section) {
      if (section.getAttribute("data-results-url") === url) renderResults(section, data, live);
    });
  }

  function refresh(url) {
    fetch(url, { cache: "no-cache" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data) render(url, data); })
      .catch(function () { /* keep the numbers already shown */ });
  }

  var urls = [];
  document.querySelectorAll("[data-results-url]").forEach(function (section) {
    var url = section.getAttribute("data-results-url");
    if (urls.indexOf(url) === -1) urls.push(url);
  });
  if (!urls.length || !window.fetch) return;

  function refreshAll() { urls.forEach(refresh); }

  // After a vote in place, poll.js hands over the live results it was given.
  document.addEventListener("poll:results", function (event) {
    var data = event.detail;
    if (data && data.poll) render("/polls/" + data.poll + "/results.json", data, true);
  });

  // Poll only while the page is on screen, and catch up as soon as it is again,
  // including when the browser brings the page back from its back-forward cache.
  refreshAll();
  setInterval(function () { if (!document.hidden) refreshAll(); }, REFRESH_MS);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) refreshAll();
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) refreshAll();
  });
})();
