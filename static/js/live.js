// Live pages (overview, Inference list, endpoint page; webapp/live.py): what a swap of a live
// region must keep and say. htmx polls `[data-live]` elements; the server answers 204 (nothing
// swapped) until something changed. When a fragment is swapped in:
// - keyboard focus stays where it was: htmx puts it back on the element with the same id; if
//   that element is gone, it goes to the region's [data-live-focus] heading, never to <body>;
// - a change of status is announced once, politely, in #live-announcer: elements carrying
//   data-live-key / data-live-state / data-live-say are compared before and after the swap, and
//   only the sentences of the keys whose state changed (or that are new) are read;
// - a poll answered by a redirect (the session ended: the sign-in page) is not swapped in: the
//   page reloads, so that the person sees the sign-in page itself.
// Nothing inline: the CSP forbids it.
(function () {
  "use strict";

  var pending = null;  // what the page showed before the swap being made

  function states() {
    var map = {};
    document.querySelectorAll("[data-live-key]").forEach(function (el) {
      var key = el.getAttribute("data-live-key");
      if (!(key in map)) {
        map[key] = { state: el.getAttribute("data-live-state"), say: el.getAttribute("data-live-say") };
      }
    });
    return map;
  }

  function pathOf(url) {
    try { return new URL(url, window.location.href).pathname; } catch (e) { return url; }
  }

  function announce(sentences) {
    var region = document.getElementById("live-announcer");
    if (!region || !sentences.length) return;
    // Emptied first, so that the same sentence said twice in a row is read twice.
    region.textContent = "";
    window.setTimeout(function () { region.textContent = sentences.join(" "); }, 100);
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail;
    if (!detail.elt || !detail.elt.matches || !detail.elt.matches("[data-live]")) return;
    if (!detail.shouldSwap) return;  // 204: nothing changed
    var info = detail.pathInfo || {};
    if (info.responsePath && pathOf(info.responsePath) !== pathOf(info.finalRequestPath || info.requestPath)) {
      detail.shouldSwap = false;
      window.location.reload();
      return;
    }
    var active = document.activeElement;
    pending = {
      xhr: detail.xhr,
      region: detail.elt.id,
      states: states(),
      focusId: active && active !== document.body ? active.id : "",
      focusInRegion: !!(active && detail.elt.contains(active)),
      hadFocus: !!(active && active !== document.body),
    };
  });

  document.addEventListener("htmx:afterOnLoad", function (event) {
    if (!pending || event.detail.xhr !== pending.xhr) return;
    var was = pending;
    pending = null;

    var now = states();
    var sentences = [];
    Object.keys(now).forEach(function (key) {
      var old = was.states[key];
      if ((!old || old.state !== now[key].state) && now[key].say && sentences.indexOf(now[key].say) < 0) {
        sentences.push(now[key].say);
      }
    });
    announce(sentences);

    // htmx has already moved the focus to the new element with the same id, if there is one.
    var active = document.activeElement;
    if (!was.hadFocus || (active && active !== document.body)) return;
    var again = was.focusId && document.getElementById(was.focusId);
    var region = document.getElementById(was.region);
    var fallback = was.focusInRegion && region && region.querySelector("[data-live-focus]");
    var target = again || fallback;
    if (target) target.focus({ preventScroll: true });
  });
})();

// Relative times ("3 minutes ago") on live pages keep moving between two refreshes: a part is
// only re-sent when something changed, so its words would freeze at the moment they were made.
(function () {
  "use strict";
  var lang = document.documentElement.lang || "en";
  var format = window.Intl && Intl.RelativeTimeFormat ? new Intl.RelativeTimeFormat(lang, { numeric: "auto" }) : null;
  var steps = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400], ["hour", 3600], ["minute", 60], ["second", 1]];

  function words(seconds) {
    for (var i = 0; i < steps.length; i++) {
      if (Math.abs(seconds) >= steps[i][1] || steps[i][0] === "second") {
        return format.format(Math.round(seconds / steps[i][1]), steps[i][0]);
      }
    }
    return "";
  }

  function tick() {
    if (!format) return;
    document.querySelectorAll("time[data-relative]").forEach(function (el) {
      var at = Date.parse(el.getAttribute("datetime"));
      if (!isNaN(at)) el.textContent = words((at - Date.now()) / 1000);
    });
  }

  setInterval(tick, 15000);
  document.addEventListener("htmx:afterSwap", tick);
})();
