// Console behaviour that needs no framework: toasts, copy buttons, the language switch, tabs, the
// mobile sidebar. Loaded as a file (the CSP forbids inline script).
(function () {
  "use strict";

  function dismissLater(toast) {
    if (toast.dataset.timer) return;
    toast.dataset.timer = "1";
    setTimeout(function () { toast.remove(); }, 6000);
  }

  function wire(root) {
    root.querySelectorAll("[data-toast]").forEach(dismissLater);
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    var dismiss = target.closest("[data-dismiss]");
    if (dismiss) { dismiss.closest("[data-toast]").remove(); return; }

    var copy = target.closest("[data-copy]");
    if (copy) {
      event.preventDefault();
      var text = copy.getAttribute("data-copy");
      var done = function () {
        copy.classList.add("copied");
        copy.setAttribute("data-copied", "true");
        var label = copy.querySelector("[data-copy-label]");
        var before = label ? label.textContent : null;
        if (label) label.textContent = copy.getAttribute("data-copied-text") || "Copied";
        setTimeout(function () {
          copy.classList.remove("copied");
          if (label) label.textContent = before;
        }, 1500);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, done);
      } else {
        var area = document.createElement("textarea");
        area.value = text; document.body.appendChild(area); area.select();
        try { document.execCommand("copy"); } catch (e) { /* nothing else to try */ }
        area.remove(); done();
      }
      return;
    }

    var toggle = target.closest("[data-toggle-sidebar]");
    if (toggle) {
      setMenu(!document.getElementById("sidebar").classList.contains("open"));
      return;
    }
    // A tap beside the open phone menu closes it (the menu covers the Menu button).
    var sidebar = document.getElementById("sidebar");
    if (sidebar && sidebar.classList.contains("open") && !sidebar.contains(target)) setMenu(false);
  });

  // The phone menu. Closed, it is out of the Tab order (visibility: hidden in console.css, and
  // inert); open, Tab and Shift+Tab stay inside it, the page behind is inert, and Escape closes
  // it and gives the focus back to the Menu button. On a wide screen none of this applies.
  var phone = window.matchMedia("(max-width: 760px)");

  function focusables(root) {
    return Array.prototype.filter.call(
      root.querySelectorAll("a[href], button:not([disabled]), select, input, [tabindex]:not([tabindex='-1'])"),
      function (el) { return el.getClientRects().length > 0; });
  }

  function setMenu(open, options) {
    var sidebar = document.getElementById("sidebar");
    var button = document.querySelector("[data-toggle-sidebar]");
    var main = document.getElementById("main");
    if (!sidebar || !button) return;
    sidebar.classList.toggle("open", open);
    button.setAttribute("aria-expanded", open ? "true" : "false");
    sidebar.inert = phone.matches && !open;
    if (main) main.inert = phone.matches && open;
    if (open) {
      var first = focusables(sidebar)[0];
      if (first) first.focus();
    } else if (!(options && options.keepFocus)) {
      if (sidebar.contains(document.activeElement) || document.activeElement === document.body) button.focus();
    }
  }

  function syncMenu() {
    var sidebar = document.getElementById("sidebar");
    if (sidebar) setMenu(phone.matches && sidebar.classList.contains("open"), { keepFocus: true });
  }
  if (phone.addEventListener) phone.addEventListener("change", syncMenu);

  document.addEventListener("keydown", function (event) {
    var sidebar = document.getElementById("sidebar");
    if (!sidebar || !sidebar.classList.contains("open") || !phone.matches) return;
    if (event.key === "Escape") {
      event.preventDefault();
      setMenu(false);
      document.querySelector("[data-toggle-sidebar]").focus();
      return;
    }
    if (event.key !== "Tab") return;
    var items = focusables(sidebar);
    if (!items.length) return;
    var first = items[0], last = items[items.length - 1];
    var inside = sidebar.contains(document.activeElement);
    if (event.shiftKey && (document.activeElement === first || !inside)) {
      event.preventDefault(); last.focus();
    } else if (!event.shiftKey && (document.activeElement === last || !inside)) {
      event.preventDefault(); first.focus();
    }
  });

  document.addEventListener("change", function (event) {
    if (!event.target.matches("[data-autosubmit]")) return;
    if (event.target.form.classList.contains("lang-switch")) keepTyped();
    event.target.form.submit();
  });

  // Switching the language reloads the page: what was typed in its forms (never a password or
  // a hidden field) is kept for this page in sessionStorage and put back once it has reloaded,
  // after every script of the page is ready, each field announcing its value as typing would
  // (so what follows the fields, the wizard's summary, follows them again).
  var TYPED = "idash:typed:";
  function fieldsOf(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && !el.disabled && !el.hasAttribute("data-autosubmit") &&
        !/^(password|hidden|file|submit|button|reset)$/.test(el.type);
    });
  }
  function pageForms() {
    return Array.prototype.slice.call(document.querySelectorAll("main form"));
  }
  function keepTyped() {
    var kept = [];
    pageForms().forEach(function (form, i) {
      fieldsOf(form).forEach(function (el) {
        var checkable = el.type === "checkbox" || el.type === "radio";
        var changed = checkable ? el.checked !== el.defaultChecked
          : el.tagName === "SELECT" ? Array.prototype.some.call(el.options, function (o) { return o.selected !== o.defaultSelected; })
          : el.value !== el.defaultValue;
        if (changed) kept.push([i, el.name, checkable ? el.value : null, checkable ? el.checked : el.value]);
      });
    });
    try {
      if (kept.length) sessionStorage.setItem(TYPED + location.pathname, JSON.stringify(kept));
    } catch (e) { /* storage refused: the page reloads as it was sent */ }
  }
  function putTypedBack() {
    var raw = null;
    try {
      raw = sessionStorage.getItem(TYPED + location.pathname);
      sessionStorage.removeItem(TYPED + location.pathname);
    } catch (e) { return; }
    if (!raw) return;
    var forms = pageForms(), restored = [];
    JSON.parse(raw).forEach(function (entry) {
      var form = forms[entry[0]];
      if (!form) return;
      fieldsOf(form).forEach(function (el) {
        if (el.name !== entry[1]) return;
        if (el.type === "checkbox" || el.type === "radio") {
          if (el.value !== entry[2]) return;
          el.checked = entry[3];
        } else {
          el.value = entry[3];
        }
        restored.push(el);
      });
    });
    restored.forEach(function (el) {
      el.dispatchEvent(new Event("input", { bubbles: true }));
      el.dispatchEvent(new Event("change", { bubbles: true }));
    });
  }
  document.addEventListener("DOMContentLoaded", function () { setTimeout(putTypedBack, 0); });

  // A box that scrolls sideways (a wide table or code on a phone) with nothing focusable inside
  // cannot be scrolled with the keyboard: it takes the focus itself (arrow keys then scroll it),
  // named after its table or its card's heading. Whether it scrolls depends on the width.
  function reachScrollables() {
    document.querySelectorAll(".table-wrap, pre.code").forEach(function (box) {
      var scrolls = box.scrollWidth > box.clientWidth + 1 && !focusables(box).length;
      if (scrolls && !box.hasAttribute("tabindex")) {
        box.tabIndex = 0;
        box.setAttribute("data-scroll-reach", "");
        var table = box.querySelector("table");
        var named = table && (table.getAttribute("aria-label") || (table.caption && table.caption.textContent));
        var heading = box.closest(".card, section") && box.closest(".card, section").querySelector("h2, h3");
        var name = (named || (heading && heading.textContent) || "").trim();
        // A group, not a region: a region named after its card's heading would be a second
        // landmark of the same name as the card itself (axe landmark-unique).
        if (name) { box.setAttribute("role", "group"); box.setAttribute("aria-label", name); }
      } else if (!scrolls && box.hasAttribute("data-scroll-reach")) {
        ["tabindex", "data-scroll-reach", "role", "aria-label"].forEach(function (a) { box.removeAttribute(a); });
      }
    });
  }
  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(reachScrollables, 150);
  });

  document.addEventListener("DOMContentLoaded", function () { wire(document); syncMenu(); reachScrollables(); roveAll(document); });
  document.addEventListener("htmx:afterSettle", function (event) {
    wire(event.target.ownerDocument || document); reachScrollables(); roveAll(document);
  });

  // Tabs, on every page ([role=tablist] > [role=tab] with aria-controls naming its panel): a click
  // selects; ArrowLeft/ArrowRight (wrapping), Home and End move the focus and select. One Tab stop
  // per tab list (roving tabindex: the selected tab 0, the others -1). A page that must react to a
  // choice listens to the tab's click (the arrow keys click it too).
  function tabsOf(list) {
    return Array.prototype.filter.call(list.querySelectorAll("[role=tab]"), function (tab) {
      return tab.closest("[role=tablist]") === list;
    });
  }

  function selectTab(tab) {
    tabsOf(tab.closest("[role=tablist]")).forEach(function (other) {
      var selected = other === tab;
      other.setAttribute("aria-selected", selected ? "true" : "false");
      other.tabIndex = selected ? 0 : -1;
      var panel = document.getElementById(other.getAttribute("aria-controls"));
      if (panel) panel.hidden = !selected;
    });
  }
  window.idashSelectTab = selectTab;

  function roveAll(root) {
    root.querySelectorAll("[role=tablist]").forEach(function (list) {
      var tabs = tabsOf(list);
      var chosen = tabs.filter(function (t) { return t.getAttribute("aria-selected") === "true"; })[0] || tabs[0];
      tabs.forEach(function (t) { t.tabIndex = t === chosen ? 0 : -1; });
    });
  }

  document.addEventListener("click", function (event) {
    var tab = event.target.closest && event.target.closest("[role=tablist] [role=tab]");
    if (tab) selectTab(tab);
  });

  document.addEventListener("keydown", function (event) {
    var tab = event.target.closest && event.target.closest("[role=tablist] [role=tab]");
    if (!tab || event.altKey || event.ctrlKey || event.metaKey) return;
    if (["ArrowRight", "ArrowLeft", "Home", "End"].indexOf(event.key) < 0) return;
    event.preventDefault();
    var tabs = tabsOf(tab.closest("[role=tablist]"));
    var at = tabs.indexOf(tab);
    var next = event.key === "Home" ? tabs[0] : event.key === "End" ? tabs[tabs.length - 1]
      : tabs[(at + (event.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
    next.focus();
    next.click();
  });
})();

// A fragment swapped in by htmx (a table that refreshes itself, a live region) keeps the keyboard's
// place. htmx puts the focus back on an element with the same id; a control without one (a row's
// Test connection, a link) would fall to <body> and send a keyboard user to the top of the page.
// So the focused control is remembered by what it is (tag, href, name, value, test id, its row's
// label, its text, and which one of its kind it was) and the same control in the new fragment takes
// the focus again, without scrolling.
(function () {
  "use strict";

  var saved = null;

  function signature(el) {
    var row = el.closest("[data-label], [data-username], [data-key]");
    return [
      el.tagName, el.getAttribute("href") || "", el.getAttribute("name") || "",
      el.getAttribute("value") || "", el.getAttribute("data-testid") || "",
      row ? (row.getAttribute("data-label") || row.getAttribute("data-username") || row.getAttribute("data-key")) : "",
      (el.textContent || "").trim()
    ].join("\u0001");
  }

  function alike(root, tag, sig) {
    return Array.prototype.filter.call(root.querySelectorAll(tag), function (el) {
      return signature(el) === sig;
    });
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    saved = null;
    var target = event.detail.target;
    var active = document.activeElement;
    if (!event.detail.shouldSwap || !target || !target.id) return;
    if (!active || active === document.body || active.id || !target.contains(active)) return;
    var sig = signature(active);
    saved = {
      xhr: event.detail.xhr, region: target.id, tag: active.tagName, sig: sig,
      nth: alike(target, active.tagName, sig).indexOf(active)
    };
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    if (!saved || event.detail.xhr !== saved.xhr) return;
    var was = saved;
    saved = null;
    if (document.activeElement && document.activeElement !== document.body) return;
    var region = document.getElementById(was.region);
    if (!region) return;
    var same = alike(region, was.tag, was.sig);
    var again = same[was.nth] || same[0];
    if (again) again.focus({ preventScroll: true });
  });
})();

// What cannot be undone (revoke a key, delete a conversation or an API key) asks first, in the
// page's own dialog rather than the browser's: a form's data-confirm, an htmx request's
// hx-confirm, in the reader's language. The confirming button repeats the action's own label.
(function () {
  "use strict";
  var dialog, question, ok, proceed = null;

  function build() {
    var strings = document.getElementById("ask-strings");
    dialog = document.createElement("dialog");
    dialog.className = "confirm-dialog";
    dialog.setAttribute("aria-labelledby", "ask-question");
    dialog.setAttribute("data-testid", "ask-dialog");
    var panel = document.createElement("div");
    panel.className = "confirm";
    question = document.createElement("p");
    question.id = "ask-question";
    question.className = "confirm-question";
    var actions = document.createElement("div");
    actions.className = "form-actions";
    var cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "btn";
    cancel.setAttribute("data-testid", "ask-cancel");
    cancel.textContent = strings ? strings.getAttribute("data-cancel") : "Cancel";
    ok = document.createElement("button");
    ok.type = "button";
    ok.className = "btn btn-danger";
    ok.setAttribute("data-testid", "ask-ok");
    ok.setAttribute("data-default", strings ? strings.getAttribute("data-ok") : "Confirm");
    actions.append(cancel, ok);
    panel.append(question, actions);
    dialog.append(panel);
    document.body.append(dialog);
    cancel.addEventListener("click", function () { dialog.close(); });
    ok.addEventListener("click", function () {
      var then = proceed;
      proceed = null;
      dialog.close();
      if (then) then();
    });
    dialog.addEventListener("close", function () { proceed = null; });
  }

  // What the confirming button says: the action's own label ("Revoke", "Delete"), or its title
  // when it is an icon; "Confirm" otherwise.
  function labelOf(elt) {
    var button = elt && elt.tagName === "FORM" ? elt.querySelector("[type=submit]") : elt;
    if (!button) return "";
    return button.textContent.trim() || button.getAttribute("title") || "";
  }

  function ask(text, label, then) {
    if (!dialog) build();
    question.textContent = text;
    ok.textContent = (label || "").trim() || ok.getAttribute("data-default");
    proceed = then;
    dialog.showModal();
    dialog.querySelector("[data-testid=ask-cancel]").focus();  // the safe choice first
  }

  document.addEventListener("submit", function (event) {
    var form = event.target.closest && event.target.closest("form[data-confirm]");
    if (!form) return;
    if (form.confirmed) { form.confirmed = false; return; }
    event.preventDefault();
    var submitter = event.submitter || form.querySelector("[type=submit]");
    ask(form.getAttribute("data-confirm"), labelOf(submitter), function () {
      form.confirmed = true;
      form.requestSubmit(submitter && submitter.form === form ? submitter : undefined);
    });
  });

  document.addEventListener("htmx:confirm", function (event) {
    if (!event.detail.question) return;
    event.preventDefault();
    ask(event.detail.question, labelOf(event.detail.elt), function () {
      event.detail.issueRequest(true);
    });
  });
})();
