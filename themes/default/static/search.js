// Client-side search over search-index.json. Results are built with DOM nodes and
// textContent only: no content string is ever parsed as HTML.
(function () {
  "use strict";
  var form = document.querySelector("form.search");
  if (!form) return;
  var input = form.querySelector("input[type=search]");
  var list = document.getElementById("search-results");
  var status = document.getElementById("search-status");
  var base = form.getAttribute("data-index").replace(/search-index\.json$/, "");
  var docs = null;

  function load() {
    if (docs) return Promise.resolve(docs);
    return fetch(form.getAttribute("data-index"))
      .then(function (r) { return r.json(); })
      .catch(fromScript)  // file:// forbids fetch; the same index ships as a script
      .then(function (d) { docs = d; return d; });
  }

  function fromScript() {
    return new Promise(function (resolve, reject) {
      var s = document.createElement("script");
      s.src = base + "search-index.js";
      s.onload = function () { resolve(window.MASTERY_SEARCH_INDEX); };
      s.onerror = reject;
      document.head.appendChild(s);
    });
  }

  function score(doc, terms) {
    var title = doc.title.toLowerCase(), meta = (doc.goal + " " + doc.tags.join(" ")).toLowerCase();
    var text = doc.text.toLowerCase(), total = 0;
    for (var i = 0; i < terms.length; i++) {
      var t = terms[i], s = 0;
      if (title.indexOf(t) >= 0) s += 10;
      if (meta.indexOf(t) >= 0) s += 5;
      if (text.indexOf(t) >= 0) s += 1;
      if (!s) return 0;
      total += s;
    }
    return total;
  }

  function show(query) {
    var terms = query.toLowerCase().split(/\s+/).filter(Boolean);
    if (!terms.length) { list.replaceChildren(); status.textContent = ""; return; }
    load().then(function (all) {
      if (query !== input.value) return;  // a newer keystroke owns the list
      list.replaceChildren();
      var hits = all.map(function (d) { return [score(d, terms), d]; })
        .filter(function (p) { return p[0] > 0; })
        .sort(function (a, b) { return b[0] - a[0] || (b[1].date > a[1].date ? 1 : -1); })
        .slice(0, 50);
      status.textContent = hits.length + (hits.length === 1 ? " result" : " results");
      hits.forEach(function (p) {
        var d = p[1], li = document.createElement("li"), a = document.createElement("a");
        a.href = base + d.url;
        a.textContent = d.title;
        li.appendChild(a);
        var meta = document.createElement("span");
        meta.className = "meta";
        meta.textContent = " " + [d.date, d.goal].filter(Boolean).join(" · ");
        li.appendChild(meta);
        list.appendChild(li);
      });
      if (window.masteryFixLinks) window.masteryFixLinks(list);
    }).catch(function () { status.textContent = "The search index could not be loaded."; });
  }

  form.addEventListener("submit", function (e) { e.preventDefault(); show(input.value); });
  input.addEventListener("input", function () { show(input.value); });
  var initial = new URLSearchParams(location.search).get("q");
  if (initial) { input.value = initial; show(initial); }
})();
