/* qreport: sortable and filterable tables, for the HTML report and the comparison.
   The data is the DOM: numbers from each cell's data-v (written by qreport,
   never a string from the model), text from the cells' own text.  No string
   from a model is ever part of this script, and it fetches nothing.
   Without JavaScript the tables are plain tables, in model order. */
(function () {
  "use strict";
  var each = function (list, f) { Array.prototype.forEach.call(list, f); };

  function value(cell) {
    var v = cell.getAttribute("data-v");
    return v === null || v === "" ? null : parseFloat(v);
  }

  /* Column headers become buttons: click (or Enter/Space) sorts ascending,
     again descending; rows that tie keep their model order; empty cells last. */
  function sortable(table) {
    var heads = table.tHead.rows[0].cells, body = table.tBodies[0];
    each(body.rows, function (r, i) { r.setAttribute("data-order", String(i)); });
    each(heads, function (th, col) {
      if (th.hasAttribute("data-nosort")) { return; }
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      while (th.firstChild) { button.appendChild(th.firstChild); }
      th.appendChild(button);
      th.setAttribute("aria-sort", "none");
      button.addEventListener("click", function () {
        var asc = th.getAttribute("aria-sort") !== "ascending";
        each(heads, function (h) { if (h.hasAttribute("aria-sort")) { h.setAttribute("aria-sort", "none"); } });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var rows = Array.prototype.map.call(body.rows, function (r) {
          var c = r.cells[col];
          return { v: value(c), t: c.textContent.trim(), i: +r.getAttribute("data-order"), r: r };
        });
        rows.sort(function (a, b) {
          var d;
          if (a.v !== null && b.v !== null) { d = a.v - b.v; }
          else if (a.v === null && b.v === null) {
            if (a.t === "" || b.t === "") { return a.t === b.t ? a.i - b.i : (a.t === "" ? 1 : -1); }
            d = a.t.localeCompare(b.t, undefined, { numeric: true });
          } else { return a.v === null ? 1 : -1; }
          return (asc ? d : -d) || a.i - b.i;
        });
        rows.forEach(function (x) { body.appendChild(x.r); });
      });
    });
  }

  var OPS = {
    ">": function (a, b) { return a > b; }, ">=": function (a, b) { return a >= b; },
    "<": function (a, b) { return a < b; }, "<=": function (a, b) { return a <= b; },
    "=": function (a, b) { return a === b; }, "!=": function (a, b) { return a !== b; }
  };
  var SCALE = { "": 1, k: 1e3, m: 1e6, g: 1e9 };
  var CONDITION = /^([a-z#]+)(>=|<=|!=|=|>|<)(-?[0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)([kmg]?)$/;

  /* The filter: words must all appear in a row's searchable text (the cells
     under headers marked data-search); "key op number" (acc>20, macs>=1M,
     saved=0) compares the column whose header has that data-key. */
  function filterable(input) {
    var table = document.getElementById(input.getAttribute("data-filter"));
    var count = document.getElementById(input.getAttribute("data-count"));
    if (!table || !table.tBodies.length) { return; }
    var heads = table.tHead.rows[0].cells, keys = {}, search = [];
    each(heads, function (th, col) {
      var k = th.getAttribute("data-key");
      if (k) { keys[k] = col; }
      if (th.hasAttribute("data-search")) { search.push(col); }
    });
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    var text = rows.map(function (r) {
      return search.map(function (c) { return r.cells[c].textContent; }).join(" ").toLowerCase();
    });
    var noun = input.getAttribute("data-noun") || "rows";

    function apply() {
      var q = input.value.toLowerCase().replace(/\s*(>=|<=|!=|=|>|<)\s*/g, "$1").trim();
      var words = [], tests = [], bad = [];
      (q ? q.split(/\s+/) : []).forEach(function (w) {
        var m = CONDITION.exec(w);
        if (m && keys.hasOwnProperty(m[1])) {
          tests.push({ col: keys[m[1]], op: OPS[m[2]], n: parseFloat(m[3]) * SCALE[m[4]] });
        } else if (/(>=|<=|!=|=|>|<)/.test(w)) {
          bad.push(w);
        } else {
          words.push(w);
        }
      });
      input.setAttribute("aria-invalid", bad.length ? "true" : "false");
      var shown = 0;
      rows.forEach(function (r, i) {
        var ok = !bad.length && words.every(function (w) { return text[i].indexOf(w) >= 0; }) &&
          tests.every(function (t) { var v = value(r.cells[t.col]); return v !== null && t.op(v, t.n); });
        r.hidden = !ok;
        if (ok) { shown += 1; }
      });
      if (count) {
        count.textContent = bad.length
          ? "not understood: " + bad.join(" ") + " (columns: " + Object.keys(keys).join(", ") + ")"
          : (q ? shown + " of " + rows.length + " " + noun : rows.length + " " + noun);
      }
    }
    input.addEventListener("input", apply);
    input.addEventListener("keydown", function (e) {
      if (e.key === "Escape") { input.value = ""; apply(); }
    });
    var tools = input.closest("[hidden]");
    if (tools) { tools.hidden = false; }
    apply();
  }

  each(document.querySelectorAll("table.sortable"), sortable);
  var filters = document.querySelectorAll("input[data-filter]");
  each(filters, filterable);
  /* "/" goes to the (first) filter box, as in coverage.py's index */
  document.addEventListener("keydown", function (e) {
    var t = e.target.tagName;
    if (e.key === "/" && filters.length && t !== "INPUT" && t !== "TEXTAREA") {
      e.preventDefault();
      filters[0].focus();
    }
  });
})();
