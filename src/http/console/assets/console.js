// The console's one script, shipped inside the binary. Every page works without it; it only
// writes sums of money with the thousands separators of the page's language as they are typed,
// adds lines to a manifest, and keeps a form from being sent twice by a double click.
(function () {
  "use strict";
  var lang = document.documentElement.lang === "en" ? "en" : "vi";
  var group = lang === "vi" ? "." : ",";
  var point = lang === "vi" ? "," : ".";
  function grouped(text) {
    var clean = text.split(group).join("").replace(/\s/g, "");
    var parts = clean.split(point);
    if (!/^\d*$/.test(parts[0]) || parts.length > 2) { return text; }
    var whole = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, group);
    return parts.length === 2 ? whole + point + parts[1] : whole;
  }
  document.addEventListener("input", function (e) {
    var t = e.target;
    if (t && t.getAttribute && t.getAttribute("data-money") !== null) {
      var before = t.value.length - t.selectionStart;
      t.value = grouped(t.value);
      var at = Math.max(0, t.value.length - before);
      t.setSelectionRange(at, at);
    }
  });
  document.addEventListener("click", function (e) {
    var t = e.target;
    if (!t || !t.getAttribute || t.getAttribute("data-add-row") === null) { return; }
    e.preventDefault();
    var body = document.getElementById(t.getAttribute("data-add-row"));
    if (!body || !body.rows.length) { return; }
    var last = body.rows[body.rows.length - 1];
    var row = last.cloneNode(true);
    var index = body.rows.length;
    Array.prototype.forEach.call(row.querySelectorAll("input"), function (input) {
      input.value = "";
      input.name = input.name.replace(/\[\d+\]/, "[" + index + "]");
      if (input.id) { input.id = input.id.replace(/-\d+-/, "-" + index + "-"); }
    });
    body.appendChild(row);
  });
  // A form is sent once: a second click while the first is on its way is ignored (for a few
  // seconds, in case the first never arrives).
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (form.getAttribute("data-sent") !== null) { e.preventDefault(); return; }
    form.setAttribute("data-sent", "");
    setTimeout(function () { form.removeAttribute("data-sent"); }, 15000);
  });
})();
