// The camp page's only script: fetch the live part every data-refresh-s seconds and swap it in
// (no page reload), and submit the camp selector when it changes. Served by the app itself.
(function () {
  "use strict";
  var live = document.getElementById("live");
  var select = document.getElementById("site-select");
  if (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  }
  if (!live) { return; }
  var every = Math.max(1, Number(live.dataset.refreshS) || 10) * 1000;
  function tick() {
    fetch(live.dataset.src, { cache: "no-store", credentials: "same-origin" })
      .then(function (r) {
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.text();
      })
      .then(function (html) {
        live.innerHTML = html;
        live.dataset.generation = String(Number(live.dataset.generation || 0) + 1);
        live.classList.remove("stale");
      })
      .catch(function () { live.classList.add("stale"); })
      .then(function () { window.setTimeout(tick, every); });
  }
  window.setTimeout(tick, every);
})();
