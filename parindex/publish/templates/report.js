/* parindex report: draws the embedded plotly figures, shows one commune's profile at a time (deep links
   #xa-<code>) and saves the data behind each chart and table ("Tải dữ liệu (CSV)").
   Data comes from <script type="application/json"> blocks; it is only ever written into the page with
   textContent (never innerHTML), and text handed to plotly was HTML-escaped when the page was built. */
(function () {
  "use strict";

  // ------------------------------------------------------------------ nothing leaves the page
  // No CSP directive browsers implement stops a link or a script from opening an outside address, so the
  // page does: no new window (window.open), no navigation by a link other than to a place in this page or a
  // file saved from it, no form submission.
  function localHref(href) {
    return href.charAt(0) === "#" || /^(blob|data):/i.test(href);
  }
  window.open = function () { return null; };
  function guard(ev) {
    var t = ev.target;
    var a = t && t.closest ? t.closest("a") : null;
    if (!a) { return; }
    var href = a.getAttribute("href") || a.getAttribute("xlink:href") || (a.href && a.href.baseVal) || "";
    if (href && !localHref(href)) {
      ev.preventDefault();
      ev.stopImmediatePropagation();
    }
  }
  ["click", "auxclick"].forEach(function (t) { document.addEventListener(t, guard, true); });
  document.addEventListener("submit", function (ev) { ev.preventDefault(); }, true);

  function readJSON(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  var config = readJSON("plotly-config") || {};
  var figs = readJSON("figures-data") || {};
  var csv = readJSON("csv-data") || {};
  var locale = readJSON("plotly-locale");
  if (locale && window.Plotly) { Plotly.register(locale); }

  // Narrow screens (phones): smaller fonts, one legend entry per row, fewer ticks, thin margins.
  function adapt(layout, el, data) {
    var width = widthOf(el);
    if (width >= 560) { return layout; }
    var l = JSON.parse(JSON.stringify(layout));
    l.font = Object.assign({}, l.font || {}, { size: 11 });
    var top = (l.margin && l.margin.t) || 30;
    if (l.legend) {
      // a vertical legend pinned to the top of the container, with room made for it by hand
      // (a legend wider than the plot area would otherwise squeeze the plot to nothing)
      var n = (data || []).filter(function (t) { return t.showlegend !== false && t.name; }).length;
      var lines = (data || []).reduce(function (k, t) {
        return k + ((t.showlegend !== false && t.name) ? String(t.name).split("<br>").length : 0);
      }, 0);
      l.legend = Object.assign({}, l.legend, { orientation: "v", xref: "container", yref: "container", x: 0,
        xanchor: "left", y: 1, yanchor: "top", font: { size: 10 } });
      delete l.legend.entrywidth;
      delete l.legend.entrywidthmode;
      top = Math.max(top, 14 * lines + 4 * n + 16);
      // labels drawn above the plot area (thresholds of the ranking): room below the legend
      var above = (l.annotations || []).filter(function (a) { return a.yref === "paper" && a.y >= 1; });
      if (above.length) {
        top += 18 + Math.max.apply(null, above.map(function (a) { return a.yshift || 0; }));
        if (l.annotations) { l.annotations = l.annotations.map(function (a) { return Object.assign({}, a, { font: Object.assign({}, a.font || {}, { size: 9 }) }); }); }
      }
      l.height = (l.height || 400) + top;
    }
    ["xaxis", "yaxis"].forEach(function (a) {
      if (l[a]) { l[a].tickfont = Object.assign({}, l[a].tickfont || {}, { size: 10 }); }
    });
    if (l.xaxis && l.xaxis.dtick === 10) { l.xaxis.dtick = 25; }
    if (l.xaxis && l.xaxis.type !== "category" && l.xaxis.dtick === undefined) { l.xaxis.nticks = 4; }
    // With a legend, margins are fixed by hand (autoexpand off): room for commune names on the left
    // of horizontal bar charts, for tick values otherwise.
    if (l.legend) {
      // names on the y axis: a category array, or traces whose y values are texts
      if (l.yaxis && l.yaxis.categoryarray) {
        l.yaxis.categoryarray = l.yaxis.categoryarray.map(function (v) { return wrapLabel(v, 24); });
      }
      var ynames = (l.yaxis && l.yaxis.categoryarray) || (data || []).reduce(function (a, t) {
        return (t.type !== "heatmap" && Array.isArray(t.y) && typeof t.y[0] === "string") ? a.concat(t.y) : a;
      }, []);
      var horizontal = ynames.length > 0;
      // room for the longest line of the commune names (labels are wrapped at about 24 characters)
      var left = Math.min(Math.round(width * 0.45), Math.round(labelLength(ynames) * 6) + 14);
      l.margin = { l: horizontal ? Math.max(left, 60) : 40, r: 8, t: top, b: 50, autoexpand: false };
      if (!horizontal && l.yaxis) { l.yaxis.title = { text: "" }; }
    } else {
      l.margin = Object.assign({}, l.margin || {}, { l: 4, r: 4 });
      if (l.xaxis) { l.xaxis.tickangle = -90; }
    }
    return l;
  }

  // While printing, charts are drawn for the A4 page (210 mm less the 2 × 12 mm margins of @page =
  // 186 mm ≈ 700 CSS px; two charts side by side get half of it each) and a little lower than on screen.
  var PRINT_WIDTH = 700;
  var PRINT_HEIGHT = 0.62;
  var printing = false;
  function widthOf(el) {
    if (printing) { return el.closest && el.closest(".two-charts") ? Math.floor((PRINT_WIDTH - 24) / 2) : PRINT_WIDTH; }
    return el.clientWidth || window.innerWidth;
  }
  function narrow(el) { return widthOf(el) < 560; }
  function compact(el) { return printing || narrow(el); }

  function transpose(m) {
    if (!Array.isArray(m) || !m.length || !Array.isArray(m[0])) { return m; }
    return m[0].map(function (_, j) { return m.map(function (row) { return row[j]; }); });
  }

  // longest line of a tick label (labels may hold <br> and escaped entities)
  function labelLength(values) {
    return (values || []).reduce(function (k, v) {
      return String(v).replace(/&[a-z]+;/g, "x").split("<br>").reduce(function (m, line) {
        return Math.max(m, line.length);
      }, k);
    }, 0);
  }

  // A tick label broken into lines of at most `width` visible characters (at spaces; a longer word is cut;
  // an HTML entity such as &lt; counts as one character and is never cut).
  function wrapLabel(label, width) {
    return String(label).split("<br>").map(function (line) {
      var out = [], cur = [];
      line.split(" ").forEach(function (word) {
        var chars = word.match(/&[a-zA-Z0-9#]+;|[\s\S]/g) || [];
        while (chars.length > width) {
          if (cur.length) { out.push(cur.join("")); cur = []; }
          out.push(chars.splice(0, width).join(""));
        }
        if (cur.length && cur.length + 1 + chars.length > width) { out.push(cur.join("")); cur = []; }
        if (cur.length) { cur.push(" "); }
        cur = cur.concat(chars);
      });
      if (cur.length) { out.push(cur.join("")); }
      return out.join("<br>");
    }).join("<br>");
  }

  // Narrow screens: text of text-only scatter traces (slope-chart labels) in a smaller font; a wide
  // heatmap (more columns than rows, e.g. communes × 40 criteria) turned a quarter so that the many
  // columns become rows, which a phone can scroll through.
  function adaptData(data, el) {
    if (!compact(el)) { return data; }
    var d = JSON.parse(JSON.stringify(data));
    d.forEach(function (t) {
      // names on the y axis of charts other than heatmaps: at most 24 characters a line
      if (narrow(el) && t.type !== "heatmap" && Array.isArray(t.y) && typeof t.y[0] === "string") {
        t.y = t.y.map(function (v) { return wrapLabel(v, 24); });
      }
      if (t.type === "scatter" && t.mode === "text" && narrow(el)) {
        t.textfont = Object.assign({}, t.textfont || {}, { size: 9 });
      }
      if (t.type === "heatmap" && narrow(el) && (t.x || []).length > 12 && (t.x || []).length > (t.y || []).length) {
        var x = t.x; t.x = t.y; t.y = x;
        t.z = transpose(t.z); t.text = transpose(t.text); t.customdata = transpose(t.customdata);
        if (t.hovertemplate) {
          t.hovertemplate = t.hovertemplate.replace(/%\{x\}/g, "%{X}").replace(/%\{y\}/g, "%{x}")
            .replace(/%\{X\}/g, "%{y}");
        }
        t._transposed = true;
      }
      if (t.type === "heatmap") {
        ["x", "y"].forEach(function (k) {
          if (Array.isArray(t[k]) && typeof t[k][0] === "string") {
            t[k] = t[k].map(function (v) { return wrapLabel(v, 24); });
          }
        });
      }
    });
    return d;
  }

  // Narrow screens, heatmaps: margins set from the label lengths (plotly's automatic margins give up
  // when the labels and the colour bar do not fit, and cut the commune names), the colour bar laid
  // flat under a heatmap whose column labels are on top, cell numbers only when they fit.
  function adaptHeatmap(layout, el, data) {
    var t = (data || []).filter(function (x) { return x.type === "heatmap"; })[0];
    if (!t || !compact(el)) { return layout; }
    var l = JSON.parse(JSON.stringify(layout));
    var width = widthOf(el);
    var nx = (t.x || []).length, ny = (t.y || []).length;
    var top = l.xaxis && l.xaxis.side === "top";
    var left = Math.min(150, Math.round(labelLength(t.y) * 5.6) + 14);
    var xlab = Math.min(140, Math.round(labelLength(t.x) * 5.2) + 12);
    // field names above the criteria (annotations): kept on paper, dropped when the heatmap is turned
    var groups = (l.annotations || []).filter(function (a) { return a.name === "field-label"; });
    if (t._transposed) {
      l.annotations = (l.annotations || []).filter(function (a) { return a.name !== "field-label"; });
      l.shapes = (l.shapes || []).map(function (sh) {
        return Object.assign({}, sh, { x0: sh.y0, x1: sh.y1, y0: sh.x0, y1: sh.x1, xref: sh.yref, yref: sh.xref });
      });
      groups = [];
    } else if (groups.length) {
      l.annotations = l.annotations.map(function (a) {
        return a.name === "field-label" ? Object.assign({}, a, { yshift: xlab + 2, font: { size: 8 } }) : a;
      });
    }
    var glines = groups.reduce(function (k, a) { return Math.max(k, String(a.text).split("<br>").length); }, 0);
    var flat = top && t.colorbar && !printing;
    var margin = { l: left, r: flat ? 8 : 62, t: top ? xlab + 10 + glines * 11 : 30,
                   b: top ? (flat ? 64 : 10) : xlab + 10, autoexpand: false };
    l.margin = margin;
    // dtick 1: every column and row keeps its label (plotly would otherwise skip some on a small chart)
    l.xaxis = Object.assign({}, l.xaxis || {}, { automargin: false, tickangle: -90, tickfont: { size: 9 }, tickmode: "linear", tick0: 0, dtick: 1 });
    l.yaxis = Object.assign({}, l.yaxis || {}, { automargin: false, tickfont: { size: 10 }, tickmode: "linear", tick0: 0, dtick: 1 });
    var cell = (width - margin.l - margin.r) / Math.max(nx, 1);
    var rowH = t._transposed ? 17 : (printing ? Math.max(14, Math.min(18, cell)) : Math.max(18, Math.min(26, cell)));
    l.height = Math.max(260, ny * rowH + margin.t + margin.b);
    data.forEach(function (x) {
      if (x.type !== "heatmap") { return; }
      if (x.texttemplate) {
        var longest = labelLength((x.text || []).reduce(function (a, row) { return a.concat(row); }, []));
        var size = 8;
        if (longest * size * 0.6 + 2 > cell) { size = 7; }
        if (longest * size * 0.6 + 2 > cell) { x.texttemplate = ""; } else { x.textfont = { size: size }; }
      }
      if (flat) {
        x.colorbar = Object.assign({}, x.colorbar, { orientation: "h", x: 0, xanchor: "left", y: 0, yanchor: "top",
          ypad: 8, len: 0.92, thickness: 10,
          title: Object.assign({}, (x.colorbar || {}).title || {}, { side: "top", font: { size: 10 } }) });
      } else if (x.colorbar) {
        x.colorbar = Object.assign({}, x.colorbar, { thickness: 10, tickfont: { size: 9 },
          title: Object.assign({}, (x.colorbar || {}).title || {}, { side: "top", font: { size: 9 } }) });
      }
    });
    return l;
  }

  function draw(el, fig, react) {
    var data = adaptData(fig.data, el);
    var layout = adaptHeatmap(adapt(fig.layout, el, data), el, data);
    if (printing) {
      var h = Math.round((layout.height || 450) * (isHeatmap(el.id) ? 1 : PRINT_HEIGHT));
      layout = Object.assign({}, layout, { width: widthOf(el), font: Object.assign({}, layout.font || {}, { size: 10 }) });
      // every commune keeps its label on paper: at least 16 px a row, every category tick shown
      var cats = (layout.yaxis && layout.yaxis.categoryarray) || [];
      if (cats.length && !isHeatmap(el.id)) {
        var m = layout.margin || {};
        h = Math.max(h, cats.length * 16 + (m.t || 40) + (m.b || 40) + 24);
        layout.yaxis = Object.assign({}, layout.yaxis, { tickmode: "linear", tick0: 0, dtick: 1 });
      }
      layout.height = h;
    }
    // the toolbar's picture is named after the chart's data file (Vietnamese, no spaces)
    var f = csv[el.id];
    var cfg = Object.assign({}, config, { toImageButtonOptions: Object.assign({}, config.toImageButtonOptions || {},
      { filename: f ? f.name.replace(/\.csv$/, "") : "bieu_do" }) });
    (react ? Plotly.react : Plotly.newPlot)(el, data, layout, cfg);
  }

  Object.keys(figs).forEach(function (id) {
    var el = document.getElementById(id);
    if (el) { draw(el, figs[id], false); }
  });

  // ------------------------------------------------------------------ data downloads
  function save(key) {
    var f = csv[key];
    if (!f) { return; }
    // UTF-8 with a byte-order mark, so that Excel shows Vietnamese
    var blob = new Blob(["\ufeff" + f.csv], { type: "text/csv;charset=utf-8" });
    var url = URL.createObjectURL(blob);
    var a = document.createElement("a");
    a.href = url;
    a.download = f.name;
    document.body.appendChild(a);
    a.click();
    document.body.removeChild(a);
    setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
  }
  var buttons = document.querySelectorAll("button.csv-dl");
  for (var i = 0; i < buttons.length; i++) {
    buttons[i].addEventListener("click", function (ev) { save(ev.currentTarget.getAttribute("data-csv")); });
  }

  // ------------------------------------------------------------------ commune profiles
  // One profile shown at a time; index.html#xa-<code> opens that commune's profile, choosing a commune
  // writes its address (without reloading or jumping).
  var select = document.getElementById("commune-select");
  var profiles = document.querySelectorAll("article.profile");

  function codeFromHash() {
    var m = /^#xa-(.+)$/.exec(window.location.hash || "");
    return m ? decodeURIComponent(m[1]) : null;
  }

  function showProfile(code, scroll) {
    var found = null;
    for (var k = 0; k < profiles.length; k++) {
      var on = profiles[k].getAttribute("data-code") === code;
      profiles[k].hidden = !on;
      if (on) { found = profiles[k]; }
    }
    if (!found) { return false; }
    if (select && select.value !== code) { select.value = code; }
    if (scroll) { found.scrollIntoView(); }
    return true;
  }

  // "In hồ sơ xã này": the print view of the report for one commune (the profile shown, one A4 page); the
  // whole report prints without the profiles (they have their own PDF files)
  var printOne = document.querySelector("button.print-profile");
  if (printOne) {
    printOne.addEventListener("click", function () {
      document.documentElement.classList.add("print-profile");
      window.print();
    });
    window.addEventListener("afterprint", function () { document.documentElement.classList.remove("print-profile"); });
  }

  if (select && profiles.length) {
    select.addEventListener("change", function () {
      if (showProfile(select.value, false) && window.history && history.replaceState) {
        history.replaceState(null, "", "#xa-" + encodeURIComponent(select.value));
      }
    });
    window.addEventListener("hashchange", function () {
      var c = codeFromHash();
      if (c) { showProfile(c, true); }
    });
    var start = codeFromHash();
    if (!(start && showProfile(start, true))) { showProfile(select.value || profiles[0].getAttribute("data-code"), false); }
  }

  // Printing: every chart at the width of the page (resizing to the element in "beforeprint" would keep
  // the screen width: the print layout comes later), heatmaps redrawn for paper, folded details
  // unfolded; all undone afterwards.
  var opened = [];
  function isHeatmap(id) {
    return !!figs[id] && figs[id].data.some(function (t) { return t.type === "heatmap"; });
  }
  function redrawAll() {
    var plots = document.querySelectorAll(".js-plotly-plot");
    for (var k = 0; k < plots.length; k++) {
      var el = plots[k];
      if (figs[el.id]) { draw(el, figs[el.id], true); }
    }
  }
  window.addEventListener("beforeprint", function () {
    if (printing) { return; }  // already laid out for paper
    var ds = document.querySelectorAll("details:not([open])");
    for (var i = 0; i < ds.length; i++) { ds[i].open = true; opened.push(ds[i]); }
    printing = true;
    redrawAll();
  });
  window.addEventListener("afterprint", function () {
    opened.forEach(function (d) { d.open = false; });
    opened = [];
    printing = false;
    redrawAll();
  });
})();
