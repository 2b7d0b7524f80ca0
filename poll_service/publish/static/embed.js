// For other sites: the embed code loads this script with our results widget.
// It makes each of our widgets on the page as tall as its content (the widget
// reports its height with postMessage) and no wider than the page, so that no
// link in it, "Where to get help" included, is cut off on a small screen.
// It uses no inline script or style, so it works under a strict CSP that
// allows this script's address.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var origin = new URL(script.src).origin;
  var TALLEST = 4000; // px: no message from our widget can make a frame taller than this

  function ourFrames() {
    return Array.prototype.filter.call(document.getElementsByTagName("iframe"), function (frame) {
      return frame.src.indexOf(origin + "/polls/") === 0;
    });
  }

  function fit(frame) {
    frame.style.maxWidth = "100%";
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== origin) return;
    var report = event.data && event.data.inquiryNowEmbed;
    if (!report || typeof report.height !== "number" || !isFinite(report.height)) return;
    ourFrames().forEach(function (frame) {
      if (frame.contentWindow !== event.source) return;
      fit(frame);
      frame.style.height = Math.min(Math.max(Math.ceil(report.height), 1), TALLEST) + "px";
    });
  });

  function ask(frame) {
    fit(frame);
    if (frame.contentWindow) frame.contentWindow.postMessage({ inquiryNowEmbed: "measure" }, origin);
  }

  ourFrames().forEach(function (frame) {
    ask(frame);
    frame.addEventListener("load", function () { ask(frame); });
  });
})();
