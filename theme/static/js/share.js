// Share buttons on the results page: "Copy link" and the browser's own share
// sheet (Web Share API). Progressive enhancement: without JavaScript, or where
// the browser lacks these, the buttons stay hidden and the plain links remain.
(function () {
  "use strict";

  document.querySelectorAll("[data-share-url]").forEach(function (box) {
    var url = new URL(box.getAttribute("data-share-url"), window.location.href).href;
    var title = box.getAttribute("data-share-title") || document.title;
    var status = box.querySelector("[role=status]");
    var copy = box.querySelector("[data-share-copy]");
    var native = box.querySelector("[data-share-native]");

    function say(message) { if (status) status.textContent = message; }

    if (copy && navigator.clipboard && window.isSecureContext) {
      copy.hidden = false;
      copy.addEventListener("click", function () {
        navigator.clipboard.writeText(url).then(
          function () { say("Link copied."); },
          function () { say("Could not copy the link. The address is " + url); }
        );
      });
    }

    if (native && navigator.share) {
      native.hidden = false;
      native.addEventListener("click", function () {
        navigator.share({ title: title, url: url }).catch(function () { /* cancelled */ });
      });
    }
  });
})();
