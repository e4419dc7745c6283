/* parindex report: draws the embedded plotly figures and drives the commune scorecard.
   Data comes from <script type="application/json"> blocks; it is only ever written into the page with
   textContent (never innerHTML), and text handed to plotly was HTML-escaped when the page was built. */
(function () {
  "use strict";

  function readJSON(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  var config = readJSON("plotly-config") || {};
  var figs = readJSON("figures-data") || {};

  // Narrow screens (phones): smaller fonts, one legend entry per row, fewer ticks, thin margins.
  function adapt(layout, el, data) {
    var width = el.clientWidth || window.innerWidth;
    if (width >= 640) { return layout; }
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
  // 186 mm ≈ 700 CSS px): wide heatmaps turned a quarter like on a phone, so their cells stay legible.
  var PRINT_WIDTH = 700;
  var printing = false;
  function narrow(el) { return (el.clientWidth || window.innerWidth) < 640; }
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
      if (t.type === "heatmap" && (t.x || []).length > 12 && (t.x || []).length > (t.y || []).length) {
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
    var width = printing ? PRINT_WIDTH : (el.clientWidth || window.innerWidth);
    var nx = (t.x || []).length, ny = (t.y || []).length;
    var top = l.xaxis && l.xaxis.side === "top";
    var left = Math.min(150, Math.round(labelLength(t.y) * 5.6) + 14);
    var xlab = Math.min(140, Math.round(labelLength(t.x) * 5.2) + 12);
    var noscale = printing && !!t.texttemplate;
    var flat = top && t.colorbar && !noscale;
    var margin = { l: left, r: flat || noscale ? 8 : 62, t: top ? xlab + 10 : 30,
                   b: top ? (flat ? 64 : 10) : xlab + 10, autoexpand: false };
    l.margin = margin;
    // dtick 1: every column and row keeps its label (plotly would otherwise skip some on a small chart)
    l.xaxis = Object.assign({}, l.xaxis || {}, { automargin: false, tickangle: -90, tickfont: { size: 9 }, tickmode: "linear", tick0: 0, dtick: 1 });
    l.yaxis = Object.assign({}, l.yaxis || {}, { automargin: false, tickfont: { size: 10 }, tickmode: "linear", tick0: 0, dtick: 1 });
    var cell = (width - margin.l - margin.r) / Math.max(nx, 1);
    var rowH = t._transposed ? 17 : Math.max(18, Math.min(26, cell));
    l.height = Math.max(260, ny * rowH + margin.t + margin.b);
    data.forEach(function (x) {
      if (x.type !== "heatmap") { return; }
      if (x.texttemplate) {
        var longest = labelLength((x.text || []).reduce(function (a, row) { return a.concat(row); }, []));
        var size = 8;
        if (longest * size * 0.6 + 2 > cell) { size = 7; }
        if (longest * size * 0.6 + 2 > cell) { x.texttemplate = ""; } else { x.textfont = { size: size }; }
      }
      if (printing && x.texttemplate) {
        x.showscale = false;  // on paper the numbers in the cells say it all (and the colour bar is drawn late)
      } else if (flat) {
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
    var layout = adaptHeatmap(printing ? fig.layout : adapt(fig.layout, el, data), el, data);
    if (printing) { layout = Object.assign({}, layout, { width: PRINT_WIDTH }); }
    (react ? Plotly.react : Plotly.newPlot)(el, data, layout, config);
  }

  Object.keys(figs).forEach(function (id) {
    var el = document.getElementById(id);
    if (el) { draw(el, figs[id], false); }
  });

  // ------------------------------------------------------------------ scorecard
  var cards = readJSON("scorecard-data");
  var select = document.getElementById("commune-select");
  var chart = document.getElementById("fig-commune");
  var base = figs["fig-commune"];

  function setText(id, text) {
    var el = document.getElementById(id);
    if (el) { el.textContent = text; }
  }

  // rows: arrays of cell texts; numeric: indices of right-aligned cells
  function fillRows(tbodyId, rows, numeric, ncols, emptyText) {
    var tbody = document.getElementById(tbodyId);
    if (!tbody) { return; }
    while (tbody.firstChild) { tbody.removeChild(tbody.firstChild); }
    if (!rows.length) {
      var tr0 = document.createElement("tr");
      var td0 = document.createElement("td");
      td0.colSpan = ncols;
      td0.className = "small";
      td0.textContent = emptyText;
      tr0.appendChild(td0);
      tbody.appendChild(tr0);
      return;
    }
    rows.forEach(function (row) {
      var tr = document.createElement("tr");
      row.forEach(function (cell, i) {
        var td = document.createElement("td");
        td.textContent = cell;
        if (numeric.indexOf(i) >= 0) { td.className = "num"; }
        tr.appendChild(td);
      });
      tbody.appendChild(tr);
    });
  }

  function show(code) {
    var c = null;
    for (var i = 0; i < cards.length; i++) { if (cards[i].code === code) { c = cards[i]; break; } }
    if (!c) { return; }
    setText("sc-name", c.name);
    setText("sc-rank", String(c.rank));
    setText("sc-index", c.index);
    setText("sc-points", c.points);
    setText("sc-max", c.max);
    setText("sc-band", c.band);
    var chip = document.getElementById("sc-chip");
    if (chip) { chip.style.backgroundColor = c.color; }
    setText("sc-rob-text", c.rob_text || "");
    fillRows("sc-rob-probs", (c.rob_probs || []).map(function (r) { return [r[0], r[1]]; }), [1], 2,
             "Không có kết quả kiểm tra độ vững.");
    setText("sc-yoy-text", c.yoy_text || "Không có số liệu năm trước.");
    setText("sc-sat-text", c.sat_text || "");
    setText("sc-off-text", c.off_text || "");
    setText("sc-ballots-text", c.ballots_text || "");
    fillRows("sc-sat", c.sat || [], [1, 2], 3, "Không có câu trả lời hợp lệ.");
    fillRows("sc-lost", c.lost, [3, 4, 5], 6, "Không mất điểm ở tiêu chí nào.");
    fillRows("sc-cuts", c.cuts.map(function (r) { return r.slice(0, 7); }), [2, 3, 4], 7,
             "Không có tiêu chí nào bị điều chỉnh khi thẩm định.");
    if (chart && base) {
      var data = JSON.parse(JSON.stringify(base.data));
      var full = data[0].customdata.map(function (row) { return row[0]; });
      data[0].y = c.y;
      data[0].text = c.text;
      data[0].name = c.name_plotly;
      data[0].customdata = full.map(function (label, k) { return [label, c.pts[k], c.mx[k]]; });
      draw(chart, { data: data, layout: base.layout }, true);
    }
  }

  if (cards && cards.length && select) {
    select.addEventListener("change", function () { show(select.value); });
    show(select.value || cards[0].code);
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
      if (isHeatmap(el.id)) { draw(el, figs[el.id], true); }
      else { Plotly.relayout(el, printing ? { width: PRINT_WIDTH } : { width: null, autosize: true }); }
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
