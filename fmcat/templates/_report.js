(function () {
  "use strict";
  // Everything drawn here comes from the embedded JSON and is written with
  // textContent, never as HTML.
  var data = JSON.parse(document.getElementById("fmcat-data").textContent);
  var strings = data.strings, rows = data.rows;
  // rows come in the report's order (needing attention first, then by name), as the sections do
  var PAGE = 100, page = 0, sortKey = null, sortDir = 1;
  var tbody = document.querySelector("#models tbody");
  var filter = document.getElementById("filter");
  var fCat = document.getElementById("f-category"), fVer = document.getElementById("f-verdict");
  var staticSections = document.getElementById("model-0") !== null;
  var ORDER = {"allowed": 0, "conditional": 1, "needs-permission": 2, "prohibited": 3, "unknown": 4};
  rows.forEach(function (r, i) {
    r._i = i;
    r._text = [r.name, r.display_name || "", r.provider || "", r.license || ""].join(" ").toLowerCase();
  });

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function value(r, key) {
    if (key === "verdict") return ORDER[r.verdict];
    if (key === "obligations") return r.obligations.length;
    if (key === "verification") return r.verification ? r.verification.status : "";
    if (key === "smoke") return r.smoke_test ? r.smoke_test.at : "";
    if (key === "name") return (r.display_name || r.name).toLowerCase();
    var v = r[key];
    return v === null || v === undefined ? "" : String(v).toLowerCase();
  }
  function visible() {
    var q = filter.value.trim().toLowerCase(), c = fCat.value, v = fVer.value;
    var out = rows.filter(function (r) {
      return (!q || r._text.indexOf(q) !== -1) && (!c || r.category === c) && (!v || r.verdict === v);
    });
    out.sort(function (a, b) {
      if (sortKey === null) return a._i - b._i;
      var x = value(a, sortKey), y = value(b, sortKey);
      return x < y ? -sortDir : x > y ? sortDir : a._i - b._i;
    });
    return out;
  }
  function weights(r) {
    if (r.repo_id) return r.repo_id + " @ " + (r.revision ? r.revision.slice(0, 12) : "unpinned");
    if (r.local_path) return "local";
    return r.source === "api" ? "API" : "\u2014";
  }
  function row(r) {
    var tr = el("tr");
    tr.setAttribute("data-index", r._i);
    var name = el("td");
    name.appendChild(el("span", r.display_name || r.name));
    name.appendChild(el("br"));
    name.appendChild(el("span", r.name, "small"));
    tr.appendChild(name);
    tr.appendChild(el("td", r.provider || ""));
    tr.appendChild(el("td", r.category));
    tr.appendChild(el("td", r.license || "\u2014"));
    var v = el("td", r.verdict, "verdict v-" + r.verdict);
    if (r.violations.length) v.appendChild(el("span", " \u00b7 policy", "violation"));
    tr.appendChild(v);
    tr.appendChild(el("td", r.obligations.length));
    tr.appendChild(el("td", weights(r)));
    tr.appendChild(el("td", r.verification ? r.verification.status : "\u2014"));
    tr.appendChild(el("td", r.smoke_test ? [r.smoke_test.status, r.smoke_test.device || "", r.smoke_test.at].join(" \u00b7 ") : "\u2014"));
    tr.addEventListener("click", function () { show(r); });
    return tr;
  }
  function draw(all) {
    var list = visible();
    var pages = Math.max(1, Math.ceil(list.length / PAGE));
    if (page >= pages) page = pages - 1;
    var slice = all ? list : list.slice(page * PAGE, page * PAGE + PAGE);
    var frag = document.createDocumentFragment();
    slice.forEach(function (r) { frag.appendChild(row(r)); });
    tbody.replaceChildren(frag);
    document.getElementById("shown").textContent = list.length + " of " + rows.length + " models";
    document.getElementById("page").textContent = "page " + (page + 1) + " of " + pages;
    document.getElementById("prev").disabled = page === 0;
    document.getElementById("next").disabled = page >= pages - 1;
  }
  function section(parent, title, items) {
    parent.appendChild(el("h4", title));
    var ul = el("ul");
    items.forEach(function (t) { ul.appendChild(el("li", t)); });
    if (!items.length) ul.appendChild(el("li", "none"));
    parent.appendChild(ul);
  }
  function show(r) {
    if (staticSections) {
      var target = document.getElementById("model-" + r._i);
      if (target) { target.scrollIntoView(); return; }
    }
    var d = document.getElementById("detail");
    d.replaceChildren();
    d.appendChild(el("h3", (r.display_name || r.name) + " \u2014 " + r.verdict));
    r.flags.concat(r.violations).forEach(function (f) { d.appendChild(el("p", f, "violation")); });
    section(d, "Obligations", r.obligations.map(function (i) { return strings[i]; }));
    section(d, "Clauses behind the verdict", r.reasons.map(function (x) { return "[" + x[2] + "] " + strings[x[0]] + ": " + (x[3] ? "\u201c" + strings[x[1]] + "\u201d" : "(" + strings[x[1]] + ")"); }));
    section(d, "License evidence", r.evidence.map(function (e) { return e.source + ": " + (e.declared || "-") + " \u2192 " + (e.license || "unknown") + (e.revision ? " at " + e.revision.slice(0, 12) : ""); }));
    section(d, "Lineage", r.base_models.map(function (x) { return "base model: " + x; }).concat(r.datasets.map(function (x) { return "dataset: " + x; })));
    section(d, "Card metadata", Object.keys(r.card).map(function (k) { return k + ": " + JSON.stringify(r.card[k]); }));
    section(d, "Files", r.files.map(function (f) { return f.path + "  " + (f.sha256 ? "sha256:" + f.sha256 : f.blob_id ? "git-blob:" + f.blob_id : "-"); }));
    section(d, "Smoke tests", r.smoke_tests.map(function (s) { return [s.at, s.status, s.device || "-", s.reason || ""].join(" \u00b7 "); }));
    d.style.display = "block";
    d.scrollIntoView();
  }
  document.querySelectorAll("#models th").forEach(function (th) {
    th.addEventListener("click", function () {
      var key = th.getAttribute("data-key");
      sortDir = key === sortKey ? -sortDir : 1;
      sortKey = key;
      document.querySelectorAll("#models th").forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", sortDir === 1 ? "ascending" : "descending");
      draw();
    });
  });
  [filter, fCat, fVer].forEach(function (c) { c.addEventListener("input", function () { page = 0; draw(); }); });
  document.getElementById("prev").addEventListener("click", function () { page--; draw(); });
  document.getElementById("next").addEventListener("click", function () { page++; draw(); });
  window.addEventListener("beforeprint", function () { draw(true); });
  window.addEventListener("afterprint", function () { draw(); });
  draw();
})();
