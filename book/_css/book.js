// Code, output and table boxes whose lines are wider than the column scroll sideways; a box
// that scrolls must be reachable by keyboard (WCAG 2.1.1, axe rule
// "scrollable-region-focusable"), so each such box joins the tab order.
(function () {
  function focusable() {
    var boxes = "div.highlight pre, div.output pre, div.output.text_html";
    document.querySelectorAll(boxes).forEach(function (pre) {
      if (pre.scrollWidth > pre.clientWidth + 1) {
        pre.tabIndex = 0;
        if (!pre.hasAttribute("aria-label")) {
          var table = pre.tagName !== "PRE";
          if (table) pre.setAttribute("role", "region");
          pre.setAttribute("aria-label", table ? "table (scrolls sideways)" : "code (scrolls sideways)");
        }
      } else if (pre.getAttribute("tabindex") === "0") {
        pre.removeAttribute("tabindex");
      }
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", focusable);
  } else {
    focusable();
  }
  window.addEventListener("resize", focusable);
})();

// Search results: the summary under each result is taken from the page's text without
// its hidden cells (the checks behind the text) and without raw TeX: inline maths keeps
// its letters (\sigma -> σ), displayed equations are left out.
document.addEventListener("DOMContentLoaded", function () {
  if (typeof Search === "undefined" || !Search.htmlToText) return;
  var greek = {alpha: "α", beta: "β", gamma: "γ", delta: "δ", epsilon: "ε", varepsilon: "ε",
               lambda: "λ", mu: "μ", pi: "π", rho: "ρ", sigma: "σ", tau: "τ", theta: "θ",
               phi: "φ", chi: "χ", omega: "ω", Sigma: "Σ", Omega: "Ω", Delta: "Δ"};
  function plain(tex) {
    return tex
      .replace(/^\\\(|\\\)$/g, "")
      .replace(/\\([A-Za-z]+)/g, function (_, name) { return greek[name] || ""; })
      .replace(/[{}_^\\]/g, "")
      .replace(/\s+/g, " ")
      .trim();
  }
  var toText = Search.htmlToText;
  Search.htmlToText = function (htmlString, anchor) {
    var doc = new DOMParser().parseFromString(htmlString, "text/html");
    doc.querySelectorAll("details.hide, div.math, .cell.tag_hide-cell").forEach(function (el) {
      el.remove();
    });
    doc.querySelectorAll("span.math").forEach(function (el) {
      el.textContent = plain(el.textContent);
    });
    return toText(doc.documentElement.outerHTML, anchor);
  };
});
