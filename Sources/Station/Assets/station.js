// pumpd station: the only script. Every page works without it; with it,
// pages that follow the pump (data-live on <body>) hear new events from the
// event mirror as Server-Sent Events and show them, or reload to show the
// new state. A page with a form being filled in is never reloaded.
// While a visit is open that could not end quietly (data-visit-unsafe),
// leaving the station asks first; its own forms, links and reloads do not.
(function () {
  "use strict";
  var body = document.body;
  var internal = false;
  function reload() { internal = true; location.reload(); }
  if (body.getAttribute("data-visit-unsafe") === "true") {
    document.addEventListener("submit", function () { internal = true; }, true);
    document.addEventListener("click", function (e) {
      var a = e.target.closest && e.target.closest("a[href]");
      if (a && a.origin === location.origin && a.getAttribute("href").charAt(0) !== "#") internal = true;
    }, true);
    window.addEventListener("beforeunload", function (e) {
      if (internal) { internal = false; return; }
      e.preventDefault();
      e.returnValue = "A visit is open and ending it now needs an acknowledgement.";
    });
    // The page's refresh, which the server left to this script (<noscript> otherwise).
    var every = parseInt(body.getAttribute("data-refresh") || "", 10);
    if (every > 0) setTimeout(reload, every * 1000);
  }
  var mode = body.getAttribute("data-live");
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
      pending = setTimeout(reload, 800);
    }
  });
  window.addEventListener("beforeunload", function () { source.close(); });
})();
