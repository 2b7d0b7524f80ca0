// Voting in place on article pages. Progressive enhancement: without this file
// the form still works, through the poll service's own pages (/poll/<id>/).
//
// For every form.poll[data-poll]: on submit, fetch a proof-of-work challenge for
// the chosen answer and solve it in a Web Worker (pow-worker.js; a second or so,
// announced in a live region), fetch a CSRF token, POST the vote as JSON, then
// replace the form with a confirmation (focused, and announced by a live
// region) and update the counts in the page's results table. Errors are shown
// in the GOV.UK pattern: an error summary that takes focus, and the message
// beside the question. A browser that cannot solve the challenge sends the
// form the plain way, to the service's own page.
(function () {
  "use strict";

  var API = "/poll/api/";
  var script = document.currentScript;
  var WORKER = script && script.getAttribute("data-worker");
  var MESSAGES = {
    working: "Sending your vote. This can take a few seconds.",
    noChoice: "Select an answer to vote.",
    offline: "Your vote could not be sent. Check your connection and try again.",
    unexpected: "Something went wrong and your vote has not been counted. Please try again."
  };

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function formatNumber(value) {
    return Number(value).toLocaleString("en-GB");
  }

  // The part of the page that shows this poll's results: the article's poll
  // section, or the whole page.
  function resultsScope(form) {
    return form.closest("section") || document;
  }

  function updateResults(form, results) {
    if (!results) return;
    // results.js, where the page has it, shows them wherever else the page does.
    if (typeof CustomEvent === "function") {
      document.dispatchEvent(new CustomEvent("poll:results", { detail: results }));
    }
    var scope = resultsScope(form);
    scope.querySelectorAll("[data-total]").forEach(function (cell) {
      cell.textContent = formatNumber(results.total);
    });
    (results.options || []).forEach(function (option) {
      scope.querySelectorAll('[data-count="' + option.id + '"]').forEach(function (cell) {
        cell.textContent = formatNumber(option.count);
      });
      scope.querySelectorAll('[data-percentage="' + option.id + '"]').forEach(function (cell) {
        // One decimal place, as the page was built (33.3%, 100.0%).
        cell.textContent = Number(option.percentage).toFixed(1) + "%";
      });
    });
  }

  function clearError(form) {
    var summary = form.querySelector(".error-summary");
    if (summary) summary.remove();
    var message = form.querySelector(".error-message");
    if (message) message.remove();
    var group = form.querySelector(".form-group");
    if (group) group.classList.remove("form-group--error");
    var fieldset = form.querySelector("fieldset");
    if (fieldset) fieldset.removeAttribute("aria-describedby");
  }

  function showError(form, text) {
    clearError(form);
    var pollId = form.getAttribute("data-poll");
    var errorId = "poll-" + pollId + "-error";
    var firstInput = form.querySelector("input[type=radio]");

    var summary = element("div", "error-summary");
    summary.setAttribute("tabindex", "-1");
    var alert = element("div");
    alert.setAttribute("role", "alert");
    alert.appendChild(element("h2", "error-summary__title", "There is a problem"));
    var list = element("ul", "error-summary__list");
    var item = element("li");
    var link = element("a", "", text);
    link.href = "#" + (firstInput ? firstInput.id : errorId);
    item.appendChild(link);
    list.appendChild(item);
    alert.appendChild(list);
    summary.appendChild(alert);
    form.insertBefore(summary, form.firstChild);

    var group = form.querySelector(".form-group");
    var fieldset = form.querySelector("fieldset");
    if (group && fieldset) {
      group.classList.add("form-group--error");
      var message = element("p", "error-message");
      message.id = errorId;
      message.appendChild(element("span", "visually-hidden", "Error:"));
      message.appendChild(document.createTextNode(" " + text));
      var legend = fieldset.querySelector("legend");
      fieldset.insertBefore(message, legend ? legend.nextSibling : fieldset.firstChild);
      fieldset.setAttribute("aria-describedby", errorId);
    }
    summary.focus();
  }

  // A receipt: 16 random bytes drawn here, so the server never chooses it. The
  // ballot is published under it in the poll's public ledger (docs/ledger.md).
  // It is shown once on the page and kept nowhere: no URL, cookie or storage.
  function drawReceipt() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return (b < 16 ? "0" : "") + b.toString(16);
    }).join("");
  }

  function receiptPanel(code) {
    var box = element("div", "poll-receipt");
    box.appendChild(element("p", "", "Your receipt (write it down or take a photo):"));
    box.appendChild(element("p", "poll-receipt__code", code));
    box.appendChild(element("p", "",
      "When the next batch of votes is published, your vote appears in this poll's public " +
      "ledger under this code, and anyone can recount the ledger. The code does not say who " +
      "you are, and once the batch is published it proves nothing about how you voted: " +
      "anyone can point at any code in the ledger."));
    var link = element("a", "", "Check my vote later");
    link.href = "/check-your-vote/";
    var linkLine = element("p");
    linkLine.appendChild(link);
    box.appendChild(linkLine);
    return box;
  }

  function showConfirmation(form, heading, text, receiptCode) {
    var panel = element("div", "panel panel--confirmation poll-confirmation");
    panel.setAttribute("role", "status");
    panel.setAttribute("tabindex", "-1");
    panel.appendChild(element("h3", "", heading));
    if (text) panel.appendChild(element("p", "", text));
    if (receiptCode) panel.appendChild(receiptPanel(receiptCode));
    form.replaceWith(panel);
    panel.focus();
  }

  function readJson(response) {
    return response.json().catch(function () { return {}; });
  }

  function fetchToken() {
    return fetch(API + "csrf-token", {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      cache: "no-store"
    }).then(function (response) {
      if (!response.ok) throw new Error("token");
      return response.json();
    }).then(function (data) { return data.csrf_token; });
  }

  // The live region that says what is happening while the vote is on its way.
  function progress(form, text) {
    var region = form.querySelector(".poll-progress");
    if (!region) {
      // A polite live region, not role=status: the confirmation is the status.
      region = element("p", "poll-progress");
      region.setAttribute("aria-live", "polite");
      var button = form.querySelector("button");
      form.insertBefore(region, button ? button.nextSibling : null);
    }
    region.textContent = text || "";
  }

  function problem(response) {
    return readJson(response).then(function (data) {
      var error = new Error("problem");
      error.detail = data.detail || MESSAGES.unexpected;
      throw error;
    });
  }

  function solve(challenge) {
    return new Promise(function (resolve, reject) {
      var worker = new Worker(WORKER);
      worker.onmessage = function (event) {
        worker.terminate();
        if (event.data.number === null) reject(new Error("unsolved"));
        else resolve(event.data.number);
      };
      worker.onerror = function () {
        worker.terminate();
        reject(new Error("worker"));
      };
      worker.postMessage(challenge);
    });
  }

  // The solved challenge, as the vote's "challenge" field (ALTCHA's v1 payload).
  function proofOfWork(pollId, option) {
    // POSTed: the answer goes in the body, never in a URL that a log would keep.
    var url = API + "polls/" + encodeURIComponent(pollId) + "/challenge";
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ option: option }),
      cache: "no-store"
    }).then(function (response) {
      if (!response.ok) return problem(response);
      return response.json();
    }).then(function (challenge) {
      return solve(challenge).then(function (number) {
        return btoa(JSON.stringify({
          algorithm: challenge.algorithm,
          challenge: challenge.challenge,
          number: number,
          salt: challenge.salt,
          signature: challenge.signature
        }));
      });
    });
  }

  function sendVote(form, body) {
    var pollId = form.getAttribute("data-poll");
    return proofOfWork(pollId, body.option).then(function (proof) {
      body.challenge = proof;
      return fetchToken();
    }).then(function (token) {
      return fetch(API + "polls/" + encodeURIComponent(pollId) + "/votes", {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-CSRFToken": token
        },
        body: JSON.stringify(body)
      });
    });
  }

  function handleResponse(form, response) {
    return readJson(response).then(function (data) {
      if (response.status === 201) {
        updateResults(form, data.results);
        showConfirmation(form, "Thank you: your vote has been counted",
          "Your vote is anonymous: we do not know who you are. It will appear in the " +
          "results with the next batch of votes.", data.receipt_code);
      } else if (response.status === 409 && /\/already-voted$/.test(data.type || "")) {
        updateResults(form, data.results);
        // The service says what the poll's rule is and why (this browser, or
        // someone else on the same connection), so show its words.
        showConfirmation(form, data.title || "This vote has not been counted", data.detail);
      } else {
        showError(form, data.detail || MESSAGES.unexpected);
      }
    });
  }

  function enhance(form) {
    var button = form.querySelector("button[type=submit], button:not([type])");
    var sending = false;

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (sending) return;
      var chosen = form.querySelector("input[name=option]:checked");
      if (!chosen) {
        showError(form, MESSAGES.noChoice);
        return;
      }
      // One receipt per vote: a retry after a lost answer resends the same one,
      // so the vote is stored once (issue 13) and keeps its receipt (issue 17).
      if (!form.pollReceipt) form.pollReceipt = drawReceipt();
      var body = { option: chosen.value, receipt: form.pollReceipt };
      var honeypot = form.querySelector("input[name=website]");
      if (honeypot && honeypot.value) body.website = honeypot.value;

      sending = true;
      form.setAttribute("aria-busy", "true");
      if (button) button.disabled = true;
      progress(form, MESSAGES.working);
      sendVote(form, body)
        .then(function (response) { return handleResponse(form, response); })
        .catch(function (error) { showError(form, error.detail || MESSAGES.offline); })
        .then(function () {
          sending = false;
          if (form.isConnected) progress(form, "");
          form.removeAttribute("aria-busy");
          if (button) button.disabled = false;
        });
    });
  }

  // Older browsers keep the plain form, which works through the service's pages.
  if (!window.fetch || !Element.prototype.closest || !Element.prototype.replaceWith) return;
  // Without a worker or Web Crypto (e.g. plain HTTP on another host) the
  // challenge cannot be solved, nor a receipt drawn, here: the plain form still works.
  if (!WORKER || !window.Worker || !window.crypto || !window.crypto.subtle) return;
  if (!window.crypto.getRandomValues) return;
  document.querySelectorAll("form.poll[data-poll]").forEach(enhance);
})();
