/* Draw the book's interactive charts (div.book-vega) with the site's own vega copies.
 * The libraries are loaded from _static/vendor/ next to this file, with AMD's
 * `define` hidden while they load so that a page which also carries RequireJS
 * (widget outputs) gets the plain globals. Nothing is fetched from another host. */
(function () {
  "use strict";
  var here = document.currentScript.src;
  var base = here.slice(0, here.lastIndexOf("/") + 1);
  var LIBS = [
    "vendor/vega/vega.min.js",
    "vendor/vega-lite/vega-lite.min.js",
    "vendor/vega-embed/vega-embed.min.js",
  ];

  function load(src) {
    return new Promise(function (resolve, reject) {
      var s = document.createElement("script");
      s.src = base + src;
      s.onload = resolve;
      s.onerror = function () { reject(new Error("could not load " + src)); };
      document.head.appendChild(s);
    });
  }

  // Narrow every view that is wider than the column the chart sits in.
  function fit(spec, width) {
    if (spec && typeof spec === "object") {
      if (typeof spec.width === "number" && spec.width > width) spec.width = width;
      ["vconcat", "hconcat", "concat", "layer"].forEach(function (key) {
        (spec[key] || []).forEach(function (sub) { fit(sub, width); });
      });
    }
    return spec;
  }

  async function draw(el) {
    var spec = JSON.parse(el.querySelector("script.book-vega-spec").textContent);
    var room = Math.max(200, el.clientWidth - 90);
    var result = await vegaEmbed(el.querySelector(".book-vega-view"), fit(spec, room), {
      actions: false,
      renderer: "svg",
    });
    el.bookView = result.view;
    // One text alternative for the whole drawing (the spec's description, also shown
    // as the figure's caption); the marks inside are not announced one by one.
    var svg = el.querySelector(".book-vega-view svg");
    if (svg) {
      svg.setAttribute("role", "img");
      svg.setAttribute("aria-label", spec.description || "Interactive chart");
      Array.prototype.forEach.call(svg.children, function (child) {
        child.setAttribute("aria-hidden", "true");
      });
    }
    el.classList.add("book-vega-ready");
    // Label each control with its visible name (for assistive technology).
    el.querySelectorAll(".vega-bind").forEach(function (bind) {
      var name = bind.querySelector(".vega-bind-name");
      var input = bind.querySelector("input, select");
      if (name && input) input.setAttribute("aria-label", name.textContent.trim());
    });
  }

  async function main() {
    var charts = document.querySelectorAll("div.book-vega");
    if (!charts.length) return;
    var amd = window.define;
    window.define = undefined;
    try {
      for (var i = 0; i < LIBS.length; i++) await load(LIBS[i]);
    } finally {
      window.define = amd;
    }
    for (var j = 0; j < charts.length; j++) await draw(charts[j]);
    document.documentElement.dataset.bookCharts = "ready";
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", main);
  } else {
    main();
  }
})();
