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
