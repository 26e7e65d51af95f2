// The playground: streamed chat (fetch + ReadableStream over NDJSON), Stop, Retry, parameter
// sliders, view-code tabs, share form, compare. A file, not inline script (the CSP forbids it).
// Every word shown comes from the page's <template> elements, translated by Django.
(function () {
  "use strict";

  function $(root, sel) { return root.querySelector(sel); }
  function $all(root, sel) { return Array.prototype.slice.call(root.querySelectorAll(sel)); }

  function cloneTemplate(id) {
    var tpl = document.getElementById(id);
    return tpl ? tpl.content.firstElementChild.cloneNode(true) : null;
  }

  // ---------------------------------------------------------------- parameters
  // Each box is checked as it is typed in, in the form's own words (data-msg-* attributes drawn
  // from playground/forms.py), so nothing out of range is ever sent; the server refuses the same.
  function fieldScope(el) {
    return el.closest("[data-range], [data-stop-field], .field") || el.parentNode;
  }

  // The box a field's message is about (a parameter's number box, not its slider).
  function fieldInput(scope) {
    return $(scope, "[data-range-number]") || $(scope, "[data-stop-input]") || $(scope, "input, textarea, select");
  }

  function setFieldError(input, message) {
    var slot = $(fieldScope(input), "[data-field-error]");
    if (slot) { slot.textContent = message; slot.hidden = !message; }
    if (message) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
  }

  function rangeProblem(row) {
    var number = $(row, "[data-range-number]");
    var raw = number.value.trim();
    if (number.validity && number.validity.badInput) return row.dataset.msgRange;
    if (raw === "") return row.dataset.msgRequired;
    var value = Number(raw);
    var bad = !isFinite(value) || value < Number(number.min) || value > Number(number.max) ||
      (row.dataset.integer === "true" && Math.floor(value) !== value);
    return bad ? row.dataset.msgRange : "";
  }

  function stopProblem(field) {
    var box = $(field, "[data-stop-input]");
    var lines = box.value.replace(/\r\n/g, "\n").split("\n").filter(function (line) { return line.trim(); });
    if (lines.length > Number(field.dataset.maxCount)) return field.dataset.msgTooMany;
    var tooLong = lines.some(function (line) { return line.length > Number(field.dataset.maxLength); });
    return tooLong ? field.dataset.msgTooLong : "";
  }

  function checkField(scope) {
    var problem, input;
    if (scope.hasAttribute("data-range")) { problem = rangeProblem(scope); input = $(scope, "[data-range-number]"); }
    else { problem = stopProblem(scope); input = $(scope, "[data-stop-input]"); }
    setFieldError(input, problem);
    return problem;
  }

  // Every checked field under `root`: the problems, first one first ([] when all is well).
  function checkSettings(root) {
    var problems = [];
    $all(root, "[data-range], [data-stop-field]").forEach(function (scope) {
      var problem = checkField(scope);
      if (problem) problems.push({ scope: scope, message: problem });
    });
    document.dispatchEvent(new CustomEvent("pg:checked", { detail: { root: root, count: problems.length } }));
    return problems;
  }

  function wireChecks(scope, input) {
    var timer = null;
    // While typing: a fix clears the message at once, a mistake shows after a pause ("-" on the
    // way to "-1" is not one).
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var problem = scope.hasAttribute("data-range") ? rangeProblem(scope) : stopProblem(scope);
      if (!problem) { setFieldError(input, ""); afterCheck(scope); return; }
      timer = setTimeout(function () { checkField(scope); afterCheck(scope); }, 500);
    });
    input.addEventListener("change", function () { clearTimeout(timer); checkField(scope); afterCheck(scope); });
  }

  function afterCheck(scope) {
    var root = scope.closest("[data-pg-app], [data-side-form]") || document;
    var problems = $all(root, "[aria-invalid=true]").length;
    document.dispatchEvent(new CustomEvent("pg:checked", { detail: { root: root, count: problems } }));
  }

  function wireRanges(root) {
    $all(root, "[data-range]").forEach(function (row) {
      var slider = $(row, "[data-range-slider]");
      var number = $(row, "[data-range-number]");
      if (!slider || !number || row.dataset.wired) return;
      row.dataset.wired = "1";
      slider.addEventListener("input", function () {
        number.value = slider.value;
        setFieldError(number, "");
        afterCheck(row);
      });
      number.addEventListener("input", function () {
        if (number.value !== "" && !isNaN(Number(number.value))) slider.value = number.value;
      });
      wireChecks(row, number);
    });
    $all(root, "[data-stop-field]").forEach(function (field) {
      var box = $(field, "[data-stop-input]");
      if (!box || field.dataset.wired) return;
      field.dataset.wired = "1";
      wireChecks(field, box);
    });
  }

  function wireEndpointSelects(root) {
    $all(root, "[data-endpoint-select]").forEach(function (select) {
      var scope = select.closest(".field") || select.parentNode;
      var label = $(scope, "[data-model-name]");
      var summary = document.querySelector("[data-endpoint-summary]");
      // The empty chat's "Chat with <model>", in the page's words (its data-title-pattern).
      var heading = select.id === "pg-endpoint" ? document.querySelector("[data-empty-title]") : null;
      var update = function () {
        var option = select.options[select.selectedIndex];
        if (label && option) label.textContent = option.getAttribute("data-model") || "–";
        var pattern = heading && heading.getAttribute("data-title-pattern");
        if (pattern && option && option.getAttribute("data-model")) {
          heading.textContent = pattern.replace("{model}", option.getAttribute("data-model"));
        }
        if (summary && option && select.id === "pg-endpoint") {
          var model = document.createElement("span");
          model.className = "mono";
          model.textContent = option.getAttribute("data-model") || "";
          summary.textContent = option.textContent + " · ";
          summary.appendChild(model);
        }
      };
      select.addEventListener("change", update);
      update();
    });
  }

  // The server's refusals, under their fields. The chat's settings sit outside its <form> (they
  // belong to it by form="pg-form"), so the slots are looked for in the whole playground.
  function showFieldErrors(form, fields) {
    var root = form.closest("[data-pg-app]") || form;
    $all(root, "[data-field-error]").forEach(function (el) { el.hidden = true; el.textContent = ""; });
    $all(root, "[aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
    Object.keys(fields || {}).forEach(function (name) {
      var slot = $(root, '[data-field-error="' + name + '"]');
      if (slot) { slot.textContent = fields[name].join(" "); slot.hidden = false; }
      var input = form.elements ? form.elements.namedItem(name) : null;
      if (input && input.setAttribute) input.setAttribute("aria-invalid", "true");
    });
  }

  // ---------------------------------------------------------------- one streamed reply
  // The finish reason in words (the same as the server renders, from #pg-strings), with the
  // API's own code beside the model's reasons.
  function finishWords(code) {
    var s = strings();
    var words = { stop: s.finishStop, length: s.finishLength, content_filter: s.finishFilter };
    if (words[code]) return words[code] + " (" + code + ")";
    if (code === "stopped" && s.stopped) return s.stopped;
    if (code === "interrupted" && s.finishInterrupted) return s.finishInterrupted;
    return String(code);
  }

  // A number as the server writes it for the page's language (Django's intcomma and
  // floatformat:"1g"): 1,362.5 or 1.362,5. In the page's language (its <html lang>), never the
  // browser's locale, as the monitoring charts write theirs (charts.js).
  var numberFormats = {};
  function formatNumber(value, decimals) {
    var number = Number(value);
    if (!isFinite(number)) return String(value);
    if (!numberFormats[decimals]) {
      numberFormats[decimals] = new Intl.NumberFormat(document.documentElement.lang || "en", {
        minimumFractionDigits: decimals, maximumFractionDigits: decimals
      });
    }
    return numberFormats[decimals].format(number);
  }

  function formatFigure(key, value) {
    if (value === null || value === undefined || value === "") return "–";
    if (key === "ttft_ms" || key === "total_ms") return formatNumber(value, 0) + " ms";
    if (key === "tokens_per_second") return formatNumber(value, 1);
    if (key === "prompt_tokens" || key === "completion_tokens") return formatNumber(value, 0);
    if (key === "finish_reason") return finishWords(value);
    return String(value);
  }

  function fillFigures(bubble, event) {
    $all(bubble, "[data-fig]").forEach(function (dd) {
      var key = dd.getAttribute("data-fig");
      if (key in event) dd.textContent = formatFigure(key, event[key]);
    });
  }

  function endStreaming(bubble) {
    bubble.classList.remove("is-streaming");
    bubble.setAttribute("aria-busy", "false");
    var indicator = $(bubble, "[data-streaming-indicator]");
    if (indicator) indicator.remove();
  }

  function showError(bubble, message, onRetry, refused) {
    bubble.classList.add("is-failed");
    var box = cloneTemplate("pg-tpl-error");
    $(box, "[data-error-text]").textContent = message;
    var retry = $(box, "[data-retry]");
    if (onRetry) retry.addEventListener("click", onRetry); else retry.remove();
    var figures = $(bubble, "[data-figures]");
    bubble.insertBefore(box, figures);
    if (refused) {
      // Refused before a reply began: no empty bubble, no row of dashes, only the reason.
      var content = $(bubble, "[data-content]");
      if (content && !content.textContent) content.hidden = true;
      if (figures) figures.remove();
    }
  }

  // POST the form data, stream NDJSON events into `bubble`. Resolves with the outcome.
  function streamReply(url, data, bubble, signal, onStart) {
    var content = $(bubble, "[data-content]");
    var text = "";
    var started = false;
    var outcome = { kind: "lost", text: "", event: null };
    return fetch(url, {
      method: "POST",
      // URL-encoded (no file here): lighter to parse than multipart, on the hot path.
      body: new URLSearchParams(data),
      signal: signal,
      credentials: "same-origin",
      headers: { "Accept": "application/x-ndjson" }
    }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (response.ok && type.indexOf("application/x-ndjson") !== 0) {
        // Not the relay (a sign-in page after the session ended, a proxy's page): say so.
        return { kind: "refused", status: response.status, text: "", event: {} };
      }
      if (!response.ok) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          var error = body.error || {};
          outcome = { kind: "refused", status: response.status, text: "", event: error };
          return outcome;
        });
      }
      var reader = response.body.getReader();
      var decoder = new TextDecoder();
      var buffer = "";
      function handle(line) {
        if (!line) return;
        var event = JSON.parse(line);
        if (event.type === "start") {
          started = true;
          var model = $(bubble, "[data-model]");
          if (model && event.model) model.textContent = event.model;
          if (onStart) onStart(event);
        } else if (event.type === "delta") {
          text += event.text;
          content.appendChild(document.createTextNode(event.text));
        } else if (event.type === "done" || event.type === "error") {
          outcome = { kind: event.type, text: text, event: event };
          fillFigures(bubble, event);
        }
      }
      function pump() {
        return reader.read().then(function (chunk) {
          if (chunk.done) {
            handle(buffer.trim());
            if (outcome.kind === "lost") { outcome.text = text; outcome.started = started; }
            return outcome;
          }
          buffer += decoder.decode(chunk.value, { stream: true });
          var lines = buffer.split("\n");
          buffer = lines.pop();
          lines.forEach(handle);
          return pump();
        });
      }
      return pump();
    }).catch(function (error) {
      if (error && error.name === "AbortError") return { kind: "stopped", text: text, event: null };
      return { kind: "lost", text: text, event: null, started: started };
    });
  }

  // Said once by #pg-announcer (role=status, polite), when a reply is over: never token by token.
  // Emptied first, so that the same sentence said twice in a row is read twice.
  function announce(text) {
    var region = document.getElementById("pg-announcer");
    if (!region || !text) return;
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 100);
  }

  function saying(bubble, outcome) {
    var model = $(bubble, "[data-model]");
    var who = model ? model.textContent : "";
    if (outcome.kind === "done") return who + ": " + outcome.text;
    if (outcome.kind === "stopped") return who + ": " + (strings().stopped || "") + ". " + outcome.text;
    return "";  // a failure says itself: its box is role="alert"
  }

  function strings() {
    var el = document.getElementById("pg-strings");
    return el ? el.dataset : {};
  }

  // ---------------------------------------------------------------- chat and live demo
  function Chat(form) {
    this.form = form;
    this.mode = form.getAttribute("data-mode");
    this.list = $(form, "[data-messages]");
    this.input = $(form, "[data-message]");
    this.sendButton = $(form, "[data-send]");
    this.stopButton = $(form, "[data-stop]");
    this.app = form.closest("[data-pg-app]");
    this.settingsError = $(form, "[data-settings-error]");
    this.settingsAlert = $(form, "[data-settings-alert]");
    this.controller = null;
    var self = this;
    form.addEventListener("submit", function (event) { event.preventDefault(); self.send(null); });
    document.addEventListener("pg:checked", function (event) {
      if (self.app && event.detail.root === self.app && !event.detail.count) self.settingsOk();
    });
    if (this.app) {
      // The box grows with what is typed, up to its CSS max-height, like a chat product's.
      this.input.addEventListener("input", function () { self.grow(); });
    }
    this.input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        if (!self.controller) self.send(null);
      }
    });
    this.stopButton.addEventListener("click", function (event) { self.stop(event); });
    $all(this.list, "[data-retry]").forEach(function (button) {
      button.addEventListener("click", function () {
        var bubble = button.closest("[data-role]");
        self.send({ stored: true, bubble: bubble, user: null, text: null });
      });
    });
  }

  Chat.prototype.grow = function () {
    if (!this.app) return;
    this.input.style.height = "auto";
    this.input.style.height = (this.input.scrollHeight + 2) + "px";
  };

  // Stop sits where Send was: the second click of a double-click on Send (a click counted as
  // the second, moments after sending) is not a Stop. A chat stopped before its `start` event
  // waits for it (a moment; STOP_WAIT_MS at most), so that the page learns the conversation its
  // message was stored in and goes on in it.
  var DOUBLE_CLICK_MS = 500;
  var STOP_WAIT_MS = 3000;

  Chat.prototype.stop = function (event) {
    var controller = this.controller;
    if (!controller) return;
    if (event && event.detail > 1 && Date.now() - this.sentAt < DOUBLE_CLICK_MS) return;
    if (this.mode !== "chat" || this.started) { controller.abort(); return; }
    this.stopWanted = true;
    setTimeout(function () { controller.abort(); }, STOP_WAIT_MS);
  };

  Chat.prototype.busy = function (on) {
    this.sendButton.disabled = on;
    this.stopButton.hidden = !on;
    this.form.classList.toggle("is-busy", on);
  };

  Chat.prototype.append = function (node) {
    var empty = $(this.list, "[data-empty]");
    if (empty) empty.hidden = true;
    this.list.appendChild(node);
    this.list.scrollTop = this.list.scrollHeight;
    return node;
  };

  // Settings that would be refused: nothing is sent; say so by the box, show the field.
  Chat.prototype.refuseSettings = function (message, scope) {
    if (this.settingsError) {
      this.settingsError.textContent = (strings().settingsInvalid || "") + " " + message;
      this.settingsError.hidden = false;
    }
    if (this.settingsAlert) this.settingsAlert.hidden = false;
    var input = scope ? fieldInput(scope) : null;
    if (input) openDrawerOf(input);
    if (input) input.focus();
  };

  Chat.prototype.settingsOk = function () {
    if (this.settingsError) { this.settingsError.hidden = true; this.settingsError.textContent = ""; }
    if (this.settingsAlert) this.settingsAlert.hidden = true;
  };

  // retry: null for a new message, or {stored, bubble, user, text, own} of the failed exchange.
  Chat.prototype.send = function (retry) {
    if (this.controller) return;
    var self = this;
    var form = this.form;
    if (this.app) {
      var problems = checkSettings(this.app);
      if (problems.length) { this.refuseSettings(problems[0].message, problems[0].scope); return; }
    }
    var text = retry ? retry.text : this.input.value.trim();
    var data = new FormData(form);
    var userNode = retry ? retry.user : null;
    if (retry && retry.stored) {
      data.set("retry", "on");
      data.set("retry_own", retry.own ? "on" : "");
      // The reply this Retry was shown beside: refused if the conversation went on since.
      data.set("retry_of", (retry.bubble && retry.bubble.getAttribute("data-reply")) || "");
      data.set("message", "");
    } else {
      data.set("retry", "");
      data.set("message", text || "");
    }
    showFieldErrors(form, {});
    if (retry && retry.bubble) retry.bubble.remove();
    if (!retry && text) {
      userNode = cloneTemplate("pg-tpl-user");
      $(userNode, ".pg-bubble").textContent = text;
      this.append(userNode);
      this.input.value = "";
      this.grow();
    }
    var bubble = this.append(cloneTemplate("pg-tpl-reply"));
    this.controller = new AbortController();
    this.sentAt = Date.now();
    this.started = false;
    this.stopWanted = false;
    this.busy(true);
    var sentText = text;
    var createdUrl = null;
    streamReply(form.action, data, bubble, this.controller.signal, function (start) {
      self.started = true;
      if (start.reply) bubble.setAttribute("data-reply", start.reply);
      if (self.mode === "chat" && start.conversation) {
        if (!$(form, "[data-conversation]").value) createdUrl = start.url;
        $(form, "[data-conversation]").value = start.conversation;
        var current = document.querySelector("[data-history-current]");
        if (current) current.value = start.conversation;
        var title = document.querySelector("[data-title]");
        if (title && start.title) title.textContent = start.title;
        if (window.location.pathname !== start.url) window.history.replaceState(null, "", start.url);
      }
      if (self.stopWanted && self.controller) self.controller.abort();
    }).then(function (outcome) {
      endStreaming(bubble);
      self.finish(outcome, bubble, userNode, sentText);
      announce(saying(bubble, outcome));
      // A new conversation now exists: bring in its tools (rename, delete, share) from its page;
      // nothing if it is gone already (deleted in another tab): the page stays as it is.
      if (createdUrl) bringTools(createdUrl);
    }).finally(function () {
      self.controller = null;
      self.busy(false);
      self.input.focus();
    });
  };

  function bringTools(url) {
    if (!window.htmx || !document.getElementById("pg-tools")) return;
    fetch(url, { credentials: "same-origin" }).then(function (response) {
      return response.ok ? response.text() : null;
    }).then(function (html) {
      var old = document.getElementById("pg-tools");
      var fresh = html ? new DOMParser().parseFromString(html, "text/html").getElementById("pg-tools") : null;
      if (!old || !fresh) return;
      old.replaceWith(fresh);
      window.htmx.process(fresh);
    }).catch(function () { /* the tools come with the next page load */ });
  }

  // Stopped: no figures came (the reply never finished), so say so instead of a row of dashes;
  // stopped before a word arrived, the empty bubble goes too.
  function markStopped(bubble, outcome) {
    var figures = $(bubble, "[data-figures]");
    if (figures) figures.remove();
    var content = $(bubble, "[data-content]");
    var early = !outcome.text;
    if (early && content) content.hidden = true;
    bubble.appendChild(cloneTemplate(early ? "pg-tpl-stopped-early" : "pg-tpl-stopped"));
  }

  Chat.prototype.finish = function (outcome, bubble, userNode, text) {
    var self = this;
    var s = strings();
    if (outcome.kind === "done") {
      this.updateUsage(outcome.event);
      // A live demo's turns are kept by the server, under the page's signed chat id.
      if (this.mode === "chat") this.refreshHistory();
      return;
    }
    if (outcome.kind === "stopped") {
      markStopped(bubble, outcome);
      if (this.mode === "chat") this.refreshHistory();
      return;
    }
    var event = outcome.event || {};
    var message = event.message || (outcome.kind === "lost" ? (outcome.text ? s.lost : s.lostEarly) : s.failed);
    if (outcome.kind === "refused" && outcome.status === 404 && this.mode === "chat") {
      // The conversation is gone (deleted in another tab): nothing was sent; the message goes
      // back in the box and the list drops the conversation.
      if (userNode) userNode.remove();
      if (text) this.input.value = text;
      this.refreshHistory();
      showError(bubble, message, null, true);
      return;
    }
    if (outcome.kind === "refused" && event.fields) {
      showFieldErrors(this.form, event.fields);
      var others = Object.keys(event.fields).filter(function (name) { return name !== "message"; });
      if (others.length) {
        var slot = this.app ? $(this.app, '[data-field-error="' + others[0] + '"]') : null;
        this.refuseSettings(event.fields[others[0]].join(" "), slot ? fieldScope(slot) : null);
      }
      if (event.fields.message || (others.length && text)) {
        // Refused before anything was sent (an empty or long message, a setting out of range):
        // not a turn of the chat. The message goes back in the box, the reason by its field.
        bubble.remove();
        if (userNode) userNode.remove();
        if (text) this.input.value = text;
        return;
      }
    }
    // Stored on the server (the chat stores an exchange before its first byte, so any failure
    // after "start" left it there): Retry asks again for the same message. Not stored (refused
    // before sending, or a live demo): Retry sends the text anew.
    var stored = this.mode === "chat" &&
      (outcome.kind === "error" || !!event.stored || (outcome.kind === "lost" && !!outcome.started));
    if (this.mode === "chat" && stored) this.refreshHistory();
    var canRetry = event.retry !== false && (stored || !!text);
    showError(bubble, message, canRetry ? function () {
      if (!stored && userNode) userNode.remove();
      // own: this page read that reply and saw it end, so the server need not wait for it
      // (a Retry from another tab is refused while the reply is still being written).
      self.send({ stored: stored, bubble: bubble, user: stored ? userNode : null, text: text, own: true });
    } : null, outcome.kind === "refused");
  };

  Chat.prototype.updateUsage = function (event) {
    var chip = $(this.form, "[data-usage]");
    if (!chip || event.prompt_tokens === null || event.prompt_tokens === undefined) return;
    var usage = document.getElementById("pg-tpl-usage").content.cloneNode(true);
    $(usage, "[data-in]").textContent = formatNumber(event.prompt_tokens, 0);
    $(usage, "[data-out]").textContent = formatNumber(event.completion_tokens || 0, 0);
    chip.textContent = "";
    chip.appendChild(usage);
    chip.hidden = false;
  };

  Chat.prototype.refreshHistory = function () {
    var url = this.form.getAttribute("data-history-url");
    var target = document.getElementById("pg-history");
    if (!url || !target || !window.htmx) return;
    var code = $(this.form, "[data-conversation]").value;
    var search = document.querySelector("[data-history-search]");
    var query = search ? search.value : "";
    window.htmx.ajax("GET", url + "?current=" + encodeURIComponent(code) + "&q=" + encodeURIComponent(query),
      { target: "#pg-history", swap: "outerHTML" });
  };

  // ---------------------------------------------------------------- compare
  function Compare(form) {
    var self = this;
    this.form = form;
    this.sides = $all(document, "[data-side]");
    this.stopButton = $(form, "[data-stop]");
    this.sendButton = $(form, "[data-send]");
    this.controller = null;
    form.addEventListener("submit", function (event) { event.preventDefault(); self.send(); });
    $(form, "[data-message]").addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        if (!self.controller) self.send();
      }
    });
    this.stopButton.addEventListener("click", function () { if (self.controller) self.controller.abort(); });
  }

  Compare.prototype.send = function () {
    if (this.controller) return;
    var self = this;
    var s = strings();
    var problems = [];
    this.sides.forEach(function (side) {
      var found = checkSettings($(side, "[data-side-form]"));
      if (found.length) problems.push(found[0]);
    });
    if (problems.length) {
      var details = problems[0].scope.closest("details");
      if (details) details.open = true;
      var input = fieldInput(problems[0].scope);
      if (input) input.focus();
      return;
    }
    var shared = new FormData(this.form);
    this.controller = new AbortController();
    this.sendButton.disabled = true;
    this.stopButton.hidden = false;
    showFieldErrors(this.form, {});
    var said = [];
    var runs = this.sides.map(function (side) {
      var sideForm = $(side, "[data-side-form]");
      var data = new FormData(sideForm);
      shared.forEach(function (value, key) { data.set(key, value); });
      var list = $(side, "[data-messages]");
      $all(list, "[data-role]").forEach(function (node) { node.remove(); });
      var empty = $(list, "[data-empty]");
      if (empty) empty.hidden = true;
      var bubble = cloneTemplate("pg-tpl-reply");
      list.appendChild(bubble);
      showFieldErrors(sideForm, {});
      return streamReply(self.form.action, data, bubble, self.controller.signal, null).then(function (outcome) {
        endStreaming(bubble);
        said.push(saying(bubble, outcome));
        if (outcome.kind === "stopped") {
          markStopped(bubble, outcome);
          return;
        }
        if (outcome.kind === "done") return;
        var event = outcome.event || {};
        if (event.fields) {
          showFieldErrors(sideForm, event.fields);
          if (event.fields.message) showFieldErrors(self.form, { message: event.fields.message });
        }
        showError(bubble, event.message || (outcome.kind === "lost" ? (outcome.text ? s.lost : s.lostEarly) : s.failed), null);
      });
    });
    Promise.all(runs).finally(function () {
      // Stop hides itself: the focus it had goes back to the message, not to <body>.
      var lost = document.activeElement === self.stopButton;
      self.controller = null;
      self.sendButton.disabled = false;
      self.stopButton.hidden = true;
      if (lost) $(self.form, "[data-message]").focus();
      announce(said.filter(Boolean).join(" "));
    });
  };

  // ---------------------------------------------------------------- small things
  // A setting's "?": a button that shows its help (the paragraph that also describes the number
  // box) when the keyboard reaches it, and on click, tap, Enter or Space; a second press, Escape
  // or leaving it hides it again.
  function setHint(button, open) {
    var text = document.getElementById(button.getAttribute("aria-controls"));
    button.setAttribute("aria-expanded", open ? "true" : "false");
    if (text) text.classList.toggle("sr-only", !open);
  }

  function closeHints() {
    var open = $all(document, "[data-hint][aria-expanded=true]");
    open.forEach(function (button) { setHint(button, false); });
    return open.length > 0;
  }

  function wireShareForm(root) {
    $all(root, "[data-share-form]").forEach(function (form) {
      var update = function () {
        var checked = form.querySelector('input[name="kind"]:checked');
        var live = !checked || checked.value === "live";
        $all(form, "[data-share-live-only]").forEach(function (el) { el.hidden = !live; });
        $all(form, "[data-share-transcript-only]").forEach(function (el) { el.hidden = live; });
      };
      form.addEventListener("change", update);
      update();
    });
  }

  // ---------------------------------------------------------------- drawers
  // On narrow screens the conversations and the settings fold into drawers (playground.css);
  // on wide ones they are columns and their toggles are not shown.
  var lastToggle = null;

  function drawerToggle(drawer) {
    return document.querySelector('[data-drawer-toggle="' + drawer.id + '"]');
  }

  function isFolded(drawer) {
    var toggle = drawerToggle(drawer);
    return !!toggle && window.getComputedStyle(toggle).display !== "none";
  }

  function closeDrawers(returnFocus) {
    $all(document, "[data-drawer].is-open").forEach(function (drawer) {
      drawer.classList.remove("is-open");
      var toggle = drawerToggle(drawer);
      if (toggle) toggle.setAttribute("aria-expanded", "false");
    });
    var scrim = document.querySelector("[data-drawer-scrim]");
    if (scrim) scrim.hidden = true;
    document.body.classList.remove("pg-drawer-open");
    if (returnFocus && lastToggle) lastToggle.focus();
    lastToggle = null;
  }

  function openDrawer(drawer) {
    closeDrawers(false);
    if (!isFolded(drawer)) return;
    var toggle = drawerToggle(drawer);
    drawer.classList.add("is-open");
    if (toggle) toggle.setAttribute("aria-expanded", "true");
    var scrim = document.querySelector("[data-drawer-scrim]");
    if (scrim) scrim.hidden = false;
    document.body.classList.add("pg-drawer-open");
    lastToggle = toggle;
  }

  // The drawer a field sits in, opened when the field needs attention.
  function openDrawerOf(element) {
    var drawer = element.closest("[data-drawer]");
    if (drawer && !drawer.classList.contains("is-open")) openDrawer(drawer);
  }

  document.addEventListener("click", function (event) {
    // The tabs themselves (selection, arrow keys) are console.js's, as on every page.
    var hint = event.target.closest("[data-hint]");
    if (hint) { setHint(hint, hint.getAttribute("aria-expanded") !== "true"); return; }
    var toggle = event.target.closest("[data-drawer-toggle]");
    if (toggle) {
      var drawer = document.getElementById(toggle.getAttribute("data-drawer-toggle"));
      if (drawer.classList.contains("is-open")) { closeDrawers(true); return; }
      openDrawer(drawer);
      var first = $(drawer, "input:not([type=hidden]), select, textarea, a[href]");
      if (first) first.focus();
      return;
    }
    if (event.target.closest("[data-drawer-close], [data-drawer-scrim]")) closeDrawers(true);
  });

  // Reached by the keyboard, a "?" shows its help at once, and hides it when the focus leaves
  // (a click or a tap toggles it instead: mouse focus is not :focus-visible).
  document.addEventListener("focusin", function (event) {
    var hint = event.target.closest ? event.target.closest("[data-hint]") : null;
    if (hint && hint.matches(":focus-visible")) setHint(hint, true);
  });
  document.addEventListener("focusout", function (event) {
    var hint = event.target.closest ? event.target.closest("[data-hint]") : null;
    if (hint) setHint(hint, false);
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    // An open help closes first (the drawer it sits in stays open).
    if (closeHints()) return;
    if (document.querySelector("[data-drawer].is-open")) closeDrawers(true);
  });

  // View code with a setting out of range: the fields say why, and the refusal (HTTP 400) is
  // shown in the panel (htmx leaves error answers out by default).
  document.addEventListener("htmx:beforeRequest", function (event) {
    var app = event.detail.elt.closest ? event.detail.elt.closest("[data-pg-app]") : null;
    if (app && event.detail.elt.id === "pg-tab-api") checkSettings(app);
  });
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr.status === 400 && event.detail.target && event.detail.target.id === "pg-code-body") {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // View code is fetched again each time it is opened (the settings may have changed): the
  // language the reader chose stays chosen (hx-sync drops an answer a newer request replaced).
  var codeLanguage = null;
  document.addEventListener("click", function (event) {
    var tab = event.target.closest ? event.target.closest("#pg-code-body [data-code-tab]") : null;
    if (tab) codeLanguage = tab.id;
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    wireShareForm(event.target);
  });
  document.addEventListener("htmx:afterSwap", function () {
    var chosen = codeLanguage && document.getElementById(codeLanguage);
    if (chosen && chosen.getAttribute("aria-selected") !== "true" && window.idashSelectTab) {
      window.idashSelectTab(chosen);
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    wireRanges(document);
    wireEndpointSelects(document);
    wireShareForm(document);
    var chat = document.querySelector("form[data-playground]");
    if (chat) new Chat(chat);
    var compare = document.querySelector("form[data-compare]");
    if (compare) new Compare(compare);
  });
})();
