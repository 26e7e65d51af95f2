// Monitoring (monitoring/templates/monitoring/*.html): uPlot charts drawn from the JSON URLs,
// each chart's numbers as a table ("Show the numbers"), the ranges switched without a reload,
// a refresh while the page is open and visible, and the load test as it runs.
// Every word comes from #monitoring-strings (the reader's language); numbers and dates are
// formatted with Intl in the page's language. Nothing inline: the CSP forbids it.
(function () {
  "use strict";

  function readJSON(id) {
    var el = id && document.getElementById(id);
    if (!el) return null;
    try { return JSON.parse(el.textContent); } catch (e) { return null; }
  }

  var S = readJSON("monitoring-strings");
  if (!S || !window.uPlot) return;
  var LANG = document.documentElement.lang || "en";
  var N0 = new Intl.NumberFormat(LANG, { maximumFractionDigits: 0 });
  var N1 = new Intl.NumberFormat(LANG, { maximumFractionDigits: 1 });
  var N2 = new Intl.NumberFormat(LANG, { maximumFractionDigits: 2 });
  var COMPACT = new Intl.NumberFormat(LANG, { notation: "compact", maximumFractionDigits: 1 });
  var SMALL = new Intl.NumberFormat(LANG, { maximumSignificantDigits: 2 });
  var PCT = new Intl.NumberFormat(LANG, { style: "percent", maximumFractionDigits: 1 });
  // Times in the dashboard's zone and 24-hour clock, as the rest of the page writes them (the
  // reader's browser may sit in another zone: one page, one clock).
  var TZ = S.time_zone || undefined;
  function dates(options) {
    return new Intl.DateTimeFormat(LANG, Object.assign({ timeZone: TZ, hourCycle: "h23" }, options));
  }
  var HM = dates({ hour: "2-digit", minute: "2-digit" });
  var DAY = dates({ day: "numeric", month: "short" });
  var FULL = dates({ day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
  var CLOCK = dates({ hour: "2-digit", minute: "2-digit", second: "2-digit" });
  var MIDNIGHT = dates({ hour: "2-digit", minute: "2-digit" });
  var COLORS = {
    ok: "#2e9e5b", refused: "#d99a0b", limited: "#8b5cf6", failed: "#d14343",
    p50: "#0b5cd5", p95: "#e0620b", speed: "#0f8b8d", prompt: "#93a3e8", completion: "#0b5cd5",
    average: "#0b5cd5", peak: "#083b8a", min: "#8a94a6", max: "#5d6878",
    concurrency: "#8a94a6", in_flight: "#e0620b", replicas: "#0b5cd5", throughput: "#2e9e5b",
  };
  var AXIS = "#5d6878";
  var GRID = "#e8ecf2";
  var FONT = "12px system-ui, -apple-system, 'Segoe UI', Roboto, 'Noto Sans', sans-serif";
  // How often an open chart asks again, by range (seconds).
  var REFRESH = { "1h": 20, "24h": 60, "7d": 300, "30d": 600 };

  function label(key) { return (S.series && S.series[key]) || key; }
  function format(value, kind) {
    if (value === null || value === undefined || isNaN(value)) return "–";
    if (kind === "ms") return value >= 1000 ? N2.format(value / 1000) + " " + S.units.seconds : N0.format(value) + " " + S.units.ms;
    if (kind === "int") return N0.format(value);
    if (kind === "compact") return COMPACT.format(value);
    if (kind === "percent") return PCT.format(value);
    if (kind === "2") return N2.format(value);
    if (kind === "rate") return value > 0 && value < 0.1 ? SMALL.format(value) : N2.format(value);
    return N1.format(value);
  }
  function tick(ts, step) {
    var d = new Date(ts * 1000);
    if (step < 3600) return HM.format(d);
    var parts = MIDNIGHT.formatToParts(d).filter(function (p) { return p.type === "hour" || p.type === "minute"; });
    var midnight = parts.every(function (p) { return Number(p.value) === 0; });
    return midnight ? DAY.format(d) : FULL.format(d);
  }
  // A value with no neighbour draws no line: those (and only those) are drawn as points.
  function isolated(values) {
    function missing(v) { return v === null || v === undefined; }
    var found = [];
    values.forEach(function (v, i) {
      if (!missing(v) && missing(values[i - 1]) && missing(values[i + 1])) found.push(i);
    });
    return found.length ? found : null;
  }
  function fill(hex, alpha) {
    var n = parseInt(hex.slice(1), 16);
    return "rgba(" + (n >> 16) + "," + ((n >> 8) & 255) + "," + (n & 255) + "," + alpha + ")";
  }
  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }

  // A tooltip that follows the cursor: the point's time and every shown series' own value (the
  // legend under the chart stays a key that switches series on and off).
  function tooltip(spec) {
    var tip = null;
    return {
      hooks: {
        init: function (u) {
          tip = el("div", null, "mon-tip");
          tip.hidden = true;
          u.over.appendChild(tip);
          u.over.addEventListener("mouseleave", function () { tip.hidden = true; });
        },
        setCursor: function (u) {
          var i = u.cursor.idx;
          if (i === null || i === undefined || u.cursor.left < 0) { tip.hidden = true; return; }
          tip.textContent = "";
          tip.appendChild(el("div", spec.xFormat(u.data[0][i]), "mon-tip-time"));
          (spec.tableSeries || spec.series).forEach(function (s) {
            var index = spec.series.indexOf(s) + 1;
            if (u.series[index] && !u.series[index].show) return;
            var row = el("div", null, "mon-tip-row");
            var mark = row.appendChild(el("span", null, "mon-tip-mark"));
            mark.style.background = s.color;
            row.appendChild(el("span", s.label, "mon-tip-label"));
            row.appendChild(el("strong", format(s.display ? s.display[i] : s.values[i], s.kind)));
            tip.appendChild(row);
          });
          tip.hidden = false;
          var width = tip.offsetWidth;
          var x = u.cursor.left + 14;
          if (x + width > u.over.clientWidth) x = Math.max(0, u.cursor.left - width - 14);
          var y = Math.max(0, Math.min(u.cursor.top - 20, u.over.clientHeight - tip.offsetHeight));
          tip.style.transform = "translate(" + x + "px," + y + "px)";
        },
      },
    };
  }

  // ------------------------------------------------------------------ one chart
  // spec: {x: [...], xKind: "time" | "log2", step, xLabel, xFormat(v), yKind, y2Kind,
  //        series: [{key, label, values, display?, kind, color, fill?, dash?, bars?, stepped?,
  //                  scale?, points?}]}
  function draw(figure, spec) {
    var box = figure.querySelector(".mon-plot");
    if (!box) return;
    var width = Math.max(260, Math.floor(box.getBoundingClientRect().width));
    var series = [{
      label: spec.xLabel,
      value: function (u, v) { return v === null || v === undefined ? "–" : spec.xFormat(v); },
    }];
    var hasY2 = false;
    spec.series.forEach(function (s) {
      var lone = isolated(s.values);
      var one = {
        label: s.label,
        stroke: s.color,
        width: s.bars ? 0 : (s.width || 2),
        scale: s.scale || "y",
        spanGaps: false,
        points: {
          show: !!s.points, size: 6, fill: s.color,
          filter: function (u, si, show) { return show || s.bars ? null : lone; },
        },
        value: function (u, v, si, i) {
          if (i === null || i === undefined) return "–";
          return format(s.display ? s.display[i] : v, s.kind);
        },
      };
      if (s.scale === "y2") hasY2 = true;
      if (s.fill) one.fill = s.fill;
      if (s.dash) one.dash = s.dash;
      if (s.bars) { one.paths = uPlot.paths.bars({ size: [0.8, 48], gap: 1 }); one.fill = s.color; }
      if (s.stepped) one.paths = uPlot.paths.stepped({ align: 1 });
      series.push(one);
    });
    function yAxis(kind, scale, side) {
      return {
        scale: scale, side: side, stroke: AXIS, font: FONT, size: 58, gap: 4,
        grid: { show: side === 3, stroke: GRID, width: 1 }, ticks: { show: false },
        values: function (u, splits) {
          return splits.map(function (v) {
            // Below 1 (a quiet range's per-minute rates): two significant digits, so that 0.25
            // and 0.5 do not both read "0.3" / "0.5" rounded, nor 0.02 and 0.04 both "0".
            if (kind !== "ms") return v !== 0 && Math.abs(v) < 1 ? SMALL.format(v) : COMPACT.format(v);
            if (v >= 1000) return N1.format(v / 1000) + " " + S.units.seconds;
            // Below 10 ms (a fast platform) whole milliseconds would label every line alike.
            return (v < 10 && v % 1 ? N1 : N0).format(v) + " " + S.units.ms;
          });
        },
      };
    }
    var axes = [{
      stroke: AXIS, font: FONT, space: spec.xKind === "time" ? 72 : 36, gap: 4,
      grid: { stroke: GRID, width: 1 }, ticks: { stroke: GRID, size: 4 },
      values: function (u, splits) { return splits.map(function (v) { return spec.xFormat(v, true); }); },
    }, yAxis(spec.yKind, "y", 3)];
    if (hasY2) axes.push(yAxis(spec.y2Kind, "y2", 1));
    // From 0; an axis with nothing on it yet still reads as round numbers (0 to 10 ms, 0 to 4).
    function positive(kind) {
      var empty = kind === "ms" ? 10 : 4;
      return function (u, min, max) { return [0, max > 0 ? max * 1.12 : empty]; };
    }
    var scales = {
      x: { time: spec.xKind === "time" }, y: { range: positive(spec.yKind) }, y2: { range: positive(spec.y2Kind) },
    };
    if (spec.xKind === "log2") scales.x = { time: false, distr: 3, log: 2 };
    var opts = {
      width: width, height: 210, series: series, axes: axes, scales: scales,
      // The time axis's round hours and days fall in the dashboard's zone, like its labels.
      tzDate: TZ ? function (ts) { return uPlot.tzDate(new Date(ts * 1e3), TZ); } : undefined,
      legend: { live: false }, cursor: { points: { size: 7 }, drag: { x: false, y: false } },
      plugins: [tooltip(spec)],
    };
    var data = [spec.x].concat(spec.series.map(function (s) { return s.values; }));
    if (figure._plot) figure._plot.destroy();
    box.textContent = "";
    figure._plot = new uPlot(opts, data, box);
    figure._width = width;
    table(figure, spec);
  }

  // The same numbers as a table (screen readers, copying): rows with something to say.
  function table(figure, chart) {
    var target = figure.querySelector("[data-table]");
    if (!target) return;
    var spec = { x: chart.x, xLabel: chart.xLabel, xFormat: chart.xFormat, series: chart.tableSeries || chart.series };
    target.textContent = "";
    var head = el("thead");
    var row = el("tr");
    row.appendChild(el("th", spec.xLabel)).scope = "col";
    spec.series.forEach(function (s) {
      var th = row.appendChild(el("th", s.label, "num"));
      th.scope = "col";
    });
    head.appendChild(row);
    target.appendChild(head);
    var body = el("tbody");
    spec.x.forEach(function (x, i) {
      var values = spec.series.map(function (s) { return s.display ? s.display[i] : s.values[i]; });
      if (!values.some(function (v) { return v !== null && v !== undefined && v !== 0; })) return;
      var tr = el("tr");
      var th = tr.appendChild(el("th", spec.xFormat(x)));
      th.scope = "row";
      values.forEach(function (v, j) { tr.appendChild(el("td", format(v, spec.series[j].kind), "num")); });
      body.appendChild(tr);
    });
    if (!body.children.length) {
      var empty = el("tr");
      var td = empty.appendChild(el("td", S.no_data, "muted"));
      td.colSpan = spec.series.length + 1;
      body.appendChild(empty);
    }
    target.appendChild(body);
  }

  // ------------------------------------------------------------------ the metrics charts
  function timeSpec(data, series, yKind) {
    return {
      x: data.t, xKind: "time", step: data.step, xLabel: S.time, yKind: yKind,
      xFormat: function (v, axis) { return axis ? tick(v, data.step) : FULL.format(new Date(v * 1000)); },
      series: series,
    };
  }
  var METRIC_CHARTS = {
    requests: function (data) {
      // Stacked bars, failures at the base: each outcome drawn as the sum of itself and those
      // below it, the tallest first, so the legend reads succeeded, refused, limited, failed;
      // the legend's tooltip and the table show each outcome's own rate.
      var order = ["failed", "limited", "refused", "ok"];
      var running = data.t.map(function () { return 0; });
      var series = order.map(function (key) {
        running = running.map(function (v, i) { return v + (data.requests[key][i] || 0); });
        return {
          key: key, label: label(key), values: running.slice(), display: data.requests[key],
          kind: "rate", color: COLORS[key], bars: true,
        };
      }).reverse();
      return timeSpec(data, series, "count");
    },
    ttft: function (data) {
      return timeSpec(data, [
        { key: "p50", label: label("p50"), values: data.ttft_p50_ms, kind: "ms", color: COLORS.p50, fill: fill(COLORS.p50, 0.08) },
        { key: "p95", label: label("p95"), values: data.ttft_p95_ms, kind: "ms", color: COLORS.p95, dash: [5, 4] },
      ], "ms");
    },
    speed: function (data) {
      return timeSpec(data, [
        { key: "speed", label: label("speed") + " (" + S.units.tokens_per_second + ")", values: data.tokens_per_second, kind: "1", color: COLORS.speed, fill: fill(COLORS.speed, 0.1) },
      ], "count");
    },
    tokens: function (data) {
      return timeSpec(data, [
        { key: "prompt", label: label("prompt"), values: data.tokens.prompt, kind: "1", color: COLORS.prompt, fill: fill(COLORS.prompt, 0.12) },
        { key: "completion", label: label("completion"), values: data.tokens.completion, kind: "1", color: COLORS.completion, fill: fill(COLORS.completion, 0.1) },
      ], "count");
    },
    replicas: function (data) {
      var r = data.replicas || { average: [], peak: [], min: [], max: [] };
      return timeSpec(data, [
        { key: "average", label: label("average"), values: r.average, kind: "2", color: COLORS.average, fill: fill(COLORS.average, 0.12), stepped: true },
        { key: "peak", label: label("peak"), values: r.peak, kind: "int", color: COLORS.peak, stepped: true, width: 1.5 },
        { key: "min", label: label("min"), values: r.min, kind: "int", color: COLORS.min, dash: [4, 4], stepped: true, width: 1.5 },
        { key: "max", label: label("max"), values: r.max, kind: "int", color: COLORS.max, dash: [8, 4], stepped: true, width: 1.5 },
      ], "count");
    },
  };

  function Panel(root) {
    this.root = root;
    this.url = root.getAttribute("data-url");
    this.range = root.getAttribute("data-range") || "24h";
    this.data = null;
    this.loadedAt = 0;
    var self = this;
    root.querySelectorAll("[data-ranges] a[data-range]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        self.choose(link.getAttribute("data-range"));
      });
    });
    var select = root.querySelector("[data-key-select]");
    if (select) select.addEventListener("change", function () {
      var option = select.options[select.selectedIndex];
      self.url = option.getAttribute("data-url") || select.value;
      self.remember("key", select.value);
      self.load();
    });
    var initial = readJSON(root.getAttribute("data-initial"));
    if (initial) this.render(initial); else this.load();
    // The page's setting (MONITORING_REFRESH_SECONDS) when it has one, else by range.
    var every = parseFloat(root.getAttribute("data-refresh") || "");
    var refresh = function () { return every > 0 ? every : (REFRESH[self.range] || 60); };
    window.setInterval(function () {
      if (document.hidden) return;
      if (Date.now() - self.loadedAt > refresh() * 1000) self.load();
    }, Math.min(5000, every > 0 ? every * 1000 : 5000));
    document.addEventListener("monitoring:refresh", function () { self.load(); });
    if (window.ResizeObserver) {
      var pending = null;
      new ResizeObserver(function () {
        window.clearTimeout(pending);
        pending = window.setTimeout(function () { self.resize(); }, 120);
      }).observe(root);
    }
  }
  Panel.prototype.choose = function (range) {
    this.range = range;
    this.root.querySelectorAll("[data-ranges] a[data-range]").forEach(function (link) {
      if (link.getAttribute("data-range") === range) link.setAttribute("aria-current", "true");
      else link.removeAttribute("aria-current");
    });
    this.remember("range", range);
    this.load();
  };
  // The address says what is shown (?range=, ?key=), so a reload or the language switch keeps it.
  Panel.prototype.remember = function (name, value) {
    var section = this.root.closest("#monitoring, #key-usage");
    if (!section) return;
    var url = new URL(window.location.href);
    url.searchParams.set(name, value);
    window.history.replaceState(null, "", url.pathname + url.search + "#" + section.id);
    var next = document.querySelector(".lang-switch input[name=next]");
    if (next) next.value = url.pathname + url.search;
    var hidden = this.root.querySelector("form input[type=hidden][name=" + name + "]");
    if (hidden) hidden.value = value;
  };
  Panel.prototype.load = function () {
    var self = this;
    var url = this.url + (this.url.indexOf("?") < 0 ? "?" : "&") + "range=" + encodeURIComponent(this.range);
    this.loadedAt = Date.now();
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
      .then(function (data) { self.render(data); })
      .catch(function () {
        var note = self.root.querySelector("[data-updated]");
        if (note) note.textContent = S.refresh_failed;
      });
  };
  Panel.prototype.render = function (data) {
    var root = this.root;
    this.data = data;
    this.loadedAt = Date.now();
    var totals = data.totals || {};
    root.querySelectorAll("[data-total]").forEach(function (node) {
      var key = node.getAttribute("data-total");
      var value = key === "refused_and_limited" ? (totals.refused || 0) + (totals.limited || 0) : totals[key];
      node.textContent = format(value, node.getAttribute("data-format") || (key === "requests_per_minute" ? "rate" : "int"));
    });
    var errors = root.querySelector("[data-tile=errors]");
    if (errors) errors.classList.toggle("is-bad", (totals.failed || 0) > 0);
    var spend = data.spend || {};
    root.querySelectorAll("[data-spend]").forEach(function (node) {
      var key = node.getAttribute("data-spend");
      node.textContent = format(spend[key], key.indexOf("hours") >= 0 ? "rate" : "int");
    });
    var empty = root.querySelector("[data-empty]");
    if (empty) empty.hidden = (totals.requests || 0) > 0;
    root.querySelectorAll("figure[data-chart]").forEach(function (figure) {
      var build = METRIC_CHARTS[figure.getAttribute("data-chart")];
      if (build) draw(figure, build(data));
    });
    var note = root.querySelector("[data-updated]");
    if (note && S.updated) note.textContent = S.updated.replace("%(time)s", CLOCK.format(new Date()));
  };
  Panel.prototype.resize = function () {
    this.root.querySelectorAll("figure[data-chart]").forEach(function (figure) {
      var box = figure.querySelector(".mon-plot");
      if (!figure._plot || !box) return;
      var width = Math.max(260, Math.floor(box.getBoundingClientRect().width));
      if (Math.abs(width - figure._width) > 4) {
        figure._width = width;
        figure._plot.setSize({ width: width, height: 210 });
      }
    });
  };

  // ------------------------------------------------------------------ the load test
  function LoadTest(root) {
    this.root = root;
    this.url = root.getAttribute("data-url");
    this.stopTemplate = root.getAttribute("data-stop-url");
    this.form = root.querySelector("[data-load-test-form]");
    this.status = root.querySelector("[data-lt-status]");
    this.timer = null;
    var self = this;
    if (this.form) {
      this.form.addEventListener("submit", function (event) { event.preventDefault(); self.start(); });
      var stop = root.querySelector("[data-lt-stop]");
      if (stop) stop.addEventListener("click", function () { self.stop(); });
    }
    var initial = readJSON(root.getAttribute("data-initial"));
    if (initial) {
      this.render(initial);
      if (initial.active) this.poll();
    }
  }
  LoadTest.prototype.say = function (text, state) {
    this.status.textContent = text;
    this.status.className = "mon-lt-status" + (state ? " is-" + state : "");
  };
  LoadTest.prototype.post = function (url, body) {
    return fetch(url, {
      method: "POST", body: body, credentials: "same-origin", headers: { Accept: "application/json" },
    }).then(function (r) {
      return r.json().then(function (data) { return { ok: r.ok, data: data }; });
    });
  };
  LoadTest.prototype.start = function () {
    var self = this;
    var button = this.root.querySelector("[data-lt-start]");
    if (button) button.disabled = true;
    this.say(S.load_test.starting, "running");
    this.post(this.form.action, new FormData(this.form)).then(function (answer) {
      if (!answer.ok) {
        self.say((answer.data.error && answer.data.error.message) || "", "failed");
        if (button) button.disabled = false;
        return;
      }
      self.render(answer.data);
      self.poll();
    }).catch(function () {
      self.say(S.refresh_failed, "failed");
      if (button) button.disabled = false;
    });
  };
  LoadTest.prototype.stop = function () {
    if (!this.test) return;
    var body = new FormData();
    var token = this.form.querySelector("[name=csrfmiddlewaretoken]");
    if (token) body.append("csrfmiddlewaretoken", token.value);
    this.say(S.load_test.stopping, "running");
    this.post(this.stopTemplate.replace("00000000-0000-0000-0000-000000000000", this.test.id), body);
  };
  LoadTest.prototype.poll = function () {
    var self = this;
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(function () {
      fetch(self.url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          if (data.load_test) self.render(data.load_test);
          if (data.load_test && data.load_test.active) self.poll();
          else document.dispatchEvent(new CustomEvent("monitoring:refresh"));
        })
        .catch(function () { self.poll(); });
    }, 1000);
  };
  LoadTest.prototype.render = function (test) {
    var root = this.root;
    this.test = test;
    var words = S.load_test;
    var steps = test.steps || [];
    var samples = test.samples || [];
    if (test.status === "running") {
      var last = samples.length ? samples[samples.length - 1] : { t: 0, concurrency: 1 };
      this.say(words.running
        .replace("%(streams)s", N0.format(last.concurrency))
        .replace("%(step)s", N0.format(Math.max(1, steps.length)))
        .replace("%(steps)s", N0.format(test.steps_planned.length))
        .replace("%(elapsed)s", N0.format(last.t))
        .replace("%(total)s", N0.format(test.duration_seconds)), "running");
    } else if (test.status === "failed") {
      this.say(words.failed.replace("%(error)s", test.error || ""), "failed");
    } else {
      this.say(words[test.status] || test.status_label, test.status === "done" ? "done" : "");
    }
    var start = root.querySelector("[data-lt-start]");
    if (start && test.active) start.disabled = true;
    if (start && !test.active && !start.hasAttribute("data-never")) start.disabled = false;
    var stop = root.querySelector("[data-lt-stop]");
    if (stop) stop.hidden = !test.active;
    root.querySelectorAll("[data-lt-charts], [data-lt-table-wrap]").forEach(function (node) { node.hidden = false; });
    var byStep = root.querySelector("figure[data-chart=lt-steps]");
    if (byStep && steps.length) {
      draw(byStep, {
        x: steps.map(function (s) { return s.concurrency; }), xKind: "log2", xLabel: label("concurrency"),
        xFormat: function (v) { return N0.format(v); }, yKind: "ms", y2Kind: "count",
        series: [
          { key: "p50", label: label("p50"), values: steps.map(function (s) { return s.ttft_p50_ms; }), kind: "ms", color: COLORS.p50, points: true },
          { key: "p95", label: label("p95"), values: steps.map(function (s) { return s.ttft_p95_ms; }), kind: "ms", color: COLORS.p95, dash: [5, 4], points: true },
          { key: "throughput", label: label("throughput") + " (" + S.units.tokens_per_second + ")", values: steps.map(function (s) { return s.tokens_per_second; }), kind: "1", color: COLORS.throughput, scale: "y2", points: true, width: 2.5 },
        ],
      });
    }
    var overTime = root.querySelector("figure[data-chart=lt-time]");
    if (overTime && samples.length) {
      draw(overTime, {
        x: samples.map(function (s) { return s.t; }), xKind: "linear", xLabel: S.elapsed,
        xFormat: function (v, axis) { return N0.format(v) + (axis ? "" : " " + S.units.seconds); },
        yKind: "count", y2Kind: "count",
        series: [
          { key: "concurrency", label: label("concurrency"), values: samples.map(function (s) { return s.concurrency; }), kind: "int", color: COLORS.concurrency, stepped: true, dash: [4, 3] },
          { key: "in_flight", label: label("in_flight"), values: samples.map(function (s) { return s.in_flight; }), kind: "int", color: COLORS.in_flight, width: 1.5 },
          { key: "replicas", label: label("replicas"), values: samples.map(function (s) { return s.replicas; }), kind: "int", color: COLORS.replicas, stepped: true, width: 3, fill: fill(COLORS.replicas, 0.1) },
          { key: "throughput", label: label("throughput") + " (" + S.units.tokens_per_second + ")", values: samples.map(function (s) { return s.tokens; }), kind: "int", color: COLORS.throughput, scale: "y2", width: 1.5 },
        ],
      });
    }
    var body = root.querySelector("[data-lt-steps]");
    if (body) {
      body.textContent = "";
      steps.forEach(function (s) {
        var tr = el("tr");
        [s.concurrency, s.requests, s.errors, format(s.ttft_p50_ms, "ms"), format(s.ttft_p95_ms, "ms"),
          format(s.tokens_per_second, "1"), format(s.stream_tokens_per_second, "1"), format(s.replicas_peak, "int")]
          .forEach(function (v) { tr.appendChild(el("td", String(v), "num")); });
        body.appendChild(tr);
      });
    }
  };

  // ------------------------------------------------------------------ following the status
  // The endpoint page's live region (#endpoint-status, endpoints/detail.html) is swapped when the
  // endpoint changes; what this panel shows of it (the replicas chart's min and max, whether a load
  // test can start) follows from the attributes it carries.
  function followStatus() {
    var status = document.getElementById("endpoint-status");
    if (!status) return;
    var min = status.getAttribute("data-min-replicas"), max = status.getAttribute("data-max-replicas");
    document.querySelectorAll("[data-note-template]").forEach(function (node) {
      node.textContent = node.getAttribute("data-note-template").replace("{a}", min).replace("{b}", max);
    });
    var callable = status.getAttribute("data-can-be-called") === "true";
    var start = document.querySelector("[data-lt-start]");
    if (start) {
      if (callable) start.removeAttribute("data-never"); else start.setAttribute("data-never", "");
      var stop = document.querySelector("[data-lt-stop]");
      start.disabled = !callable || !!(stop && !stop.hidden);
    }
    var needs = document.querySelector("[data-lt-needs-active]");
    if (needs) needs.hidden = callable;
  }
  document.addEventListener("htmx:afterSettle", followStatus);

  function init() {
    document.querySelectorAll("[data-monitoring]").forEach(function (root) { new Panel(root); });
    document.querySelectorAll("[data-load-test]").forEach(function (root) { new LoadTest(root); });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
