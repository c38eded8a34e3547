// exhunt report: sort and filter the findings table. No network, no evidence text is evaluated.
(function () {
  var table = document.getElementById("findings");
  if (!table) { return; }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var filter = document.getElementById("filter");
  var minimum = document.getElementById("minimum");
  var rank = { informational: 0, low: 1, medium: 2, high: 3, critical: 4 };
  function apply() {
    var needle = filter.value.toLowerCase();
    var floor = rank[minimum.value] || 0;
    var shown = 0;
    rows.forEach(function (r) {
      var ok = r.textContent.toLowerCase().indexOf(needle) >= 0 && (rank[r.getAttribute("data-severity")] || 0) >= floor;
      r.style.display = ok ? "" : "none";
      if (ok) { shown += 1; }
    });
    document.getElementById("shown").textContent = String(shown);
  }
  filter.addEventListener("input", apply);
  minimum.addEventListener("change", apply);
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, column) {
    th.addEventListener("click", function () {
      var descending = th.getAttribute("data-order") === "asc";
      th.setAttribute("data-order", descending ? "desc" : "asc");
      rows.sort(function (a, b) {
        var x = a.cells[column].getAttribute("data-key") || a.cells[column].textContent;
        var y = b.cells[column].getAttribute("data-key") || b.cells[column].textContent;
        return (x < y ? -1 : x > y ? 1 : 0) * (descending ? -1 : 1);
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
  apply();
})();
