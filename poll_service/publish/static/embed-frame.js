// Inside the embed widget (polls/<id>/embed.html): tell the page that frames it
// how tall the widget is, so that the page's copy of /polls/embed.js can make
// the frame fit it and nothing (least of all "Where to get help") is cut off.
// The message holds a number and nothing else, so any page may receive it.
(function () {
  "use strict";
  if (window.parent === window) return;
  var reported = 0;

  function report(force) {
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height === reported && !force) return;
    reported = height;
    window.parent.postMessage({ inquiryNowEmbed: { height: height } }, "*");
  }

  // embed.js asks once it has loaded, in case it missed the first report.
  window.addEventListener("message", function (event) {
    if (event.source === window.parent && event.data && event.data.inquiryNowEmbed === "measure") {
      report(true);
    }
  });
  if ("ResizeObserver" in window) {
    new ResizeObserver(function () { report(false); }).observe(document.documentElement);
  }
  window.addEventListener("load", function () { report(false); });
  report(false);
})();
