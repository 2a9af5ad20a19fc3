// Opened from disk (file://), a link to "goals/" shows a folder listing instead of the
// page: point such links at their index.html. Served over HTTP, nothing changes.
(function () {
  "use strict";
  if (location.protocol !== "file:") return;
  function fix(root) {
    root.querySelectorAll("a[href]").forEach(function (a) {
      if (a.protocol === "file:" && a.pathname.slice(-1) === "/") a.pathname += "index.html";
    });
  }
  document.addEventListener("DOMContentLoaded", function () { fix(document); });
  window.masteryFixLinks = fix;
})();
