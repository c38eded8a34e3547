// exhunt dashboard: the only script the pages load (the Content-Security-Policy admits no other).
// It asks the server every few seconds whether the case has changed (runs ingested, notes,
// survey records, fleet work); the overview reloads itself, other pages offer a link, so a form
// being filled in is never lost. Nothing from the case is written into the page from here.
(function () {
  "use strict";
  var body = document.body;
  var mark = body.getAttribute("data-mark");
  var every = parseInt(body.getAttribute("data-poll"), 10) || 5000;
  if (!mark) { return; }
  var overview = window.location.pathname === "/";
  function check() {
    fetch("/api/changes", { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (j) {
        if (!j || j.mark === mark) { return; }
        var typing = document.activeElement && /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName);
        if (overview && !typing) { window.location.reload(); return; }
        var banner = document.getElementById("live");
        if (banner) { banner.hidden = false; }
      })
      .catch(function () {});
  }
  window.setInterval(check, every);
  var reload = document.getElementById("reload");
  if (reload) { reload.addEventListener("click", function (e) { e.preventDefault(); window.location.reload(); }); }
})();
