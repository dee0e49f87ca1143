// The console's one script, shipped inside the binary. Every page works without it; it only
// writes sums of money with the thousands separators of the page's language as they are typed,
// adds lines to a manifest, refuses a file too big before it is sent, zooms a workflow's
// diagram, and keeps a form from being sent twice by a double click.
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
  // A file bigger than its field takes is refused before it is sent.
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (!t || !t.files || !t.getAttribute || t.getAttribute("data-max-bytes") === null) { return; }
    var max = Number(t.getAttribute("data-max-bytes"));
    var big = Array.prototype.filter.call(t.files, function (f) { return f.size > max; });
    var mb = Math.floor(max / 1048576);
    t.setCustomValidity(big.length === 0 ? "" : (lang === "vi"
      ? big[0].name + ": tệp lớn hơn " + mb + " MB"
      : big[0].name + ": the file is larger than " + mb + " MB"));
    t.reportValidity();
  });
  // A diagram is drawn at its own size, to scroll; these buttons zoom it out to fit, or in.
  Array.prototype.forEach.call(document.querySelectorAll(".diagram"), function (box) {
    var svg = box.querySelector("svg");
    if (!svg) { return; }
    var natural = svg.width && svg.width.baseVal ? svg.width.baseVal.value : 0;
    if (!natural) { return; }
    var scale = 1;
    function zoom(to) {
      scale = Math.min(3, Math.max(0.2, to));
      svg.style.width = Math.round(natural * scale) + "px";
      svg.style.height = "auto";
    }
    var bar = document.createElement("div");
    bar.className = "zoom";
    [["−", function () { zoom(scale / 1.25); }],
     [lang === "vi" ? "Vừa khung" : "Fit", function () { zoom(box.clientWidth / natural); }],
     ["100%", function () { zoom(1); }],
     ["+", function () { zoom(scale * 1.25); }]].forEach(function (b) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = b[0];
      button.addEventListener("click", b[1]);
      bar.appendChild(button);
    });
    box.insertBefore(bar, box.firstChild);
    // Scrolled to where the instance stands: the state filled as CURRENT_FILL (engine/diagram.rs).
    var current = svg.querySelector('[fill="#ffd54fff"], [fill="#ffd54f"]');
    if (current) {
      var at = current.getBoundingClientRect();
      var view = box.getBoundingClientRect();
      box.scrollLeft += at.left - view.left - (view.width - at.width) / 2;
      box.scrollTop += at.top - view.top - (view.height - at.height) / 2;
    }
  });
  // The print button of a printable record.
  document.addEventListener("click", function (e) {
    var t = e.target;
    if (t && t.getAttribute && t.getAttribute("data-print") !== null) { window.print(); }
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
