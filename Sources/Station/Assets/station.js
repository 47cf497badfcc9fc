// pumpd station: the only script. Every page works without it; with it,
// pages that follow the pump (data-live on <body>) hear new events from the
// event mirror as Server-Sent Events and show them, or reload to show the
// new state. A page with a form being filled in is never reloaded.
(function () {
  "use strict";
  var mode = document.body.getAttribute("data-live");
  if (!mode || !window.EventSource) return;
  var list = document.getElementById("live-events");
  var source = new EventSource("/live");
  var pending = null;
  source.addEventListener("pump", function (e) {
    if (list) {
      var none = list.querySelector(".none");
      if (none) none.remove();
      var li = document.createElement("li");
      li.textContent = e.data;
      list.insertBefore(li, list.firstChild);
    }
    if (mode === "reload" && !pending) {
      pending = setTimeout(function () { location.reload(); }, 800);
    }
  });
  window.addEventListener("beforeunload", function () { source.close(); });
})();
