/*
 * The one time picker and the one error display of the booking pages (book.js: consultations, rescheduling and
 * the front desk; treatments.js: one treatment and a series). Loaded after clinic-ui.js, as ClinicUI.SlotPicker,
 * ClinicUI.startPicker, ClinicUI.ErrorDisplay and ClinicUI.sendForm (the submit flow of their forms).
 *
 * The picker ([data-slot-picker], markup from templates/booking/_slot_picker.html) is fed by GET
 * /api/v1/availability. Only the newest request's answer is shown: an older one arriving late (a slow network,
 * the service changed meanwhile) is dropped. Its ids derive from data-target, so two pickers on a page keep
 * their own. Times are the clinic's wall-clock times, read from the ISO strings themselves.
 */
(function () {
  "use strict";

  var ui = window.ClinicUI;
  var el = ui.el, wallClock = ui.wallClock, timeLabel = ui.timeLabel, dayLabel = ui.dayLabel, press = ui.press,
    arrowKeys = ui.arrowKeys;

  var TAKEN = "That time was just taken. Please choose another.";

  function partOfDay(clock) {
    if (clock.hour < 12) return "Morning";
    return clock.hour < 17 ? "Afternoon" : "Evening";
  }

  function said(note, text) { return (note ? note + " " : "") + text; }

  // ---- The time picker --------------------------------------------------------------------------

  function SlotPicker(root) {
    this.root = root;
    this.input = document.getElementById(root.dataset.target) || root.querySelector('input[name="start"]');
    this.status = root.querySelector("[data-slot-status]");
    this.daysBox = root.querySelector("[data-slot-days]");
    this.timesBox = root.querySelector("[data-slot-times]");
    this.chosen = root.querySelector("[data-slot-chosen]");
    this.heading = "h" + (root.dataset.headingLevel || "3");
    this.byDay = new Map();
    this.day = null;
    this.listeners = [];
    this.takenListeners = [];
    this.request = 0;  // the newest request's number: only its answer is shown
    this.ids = "slot-" + (root.dataset.target || "start");  // several pickers on one page keep their own ids
  }

  SlotPicker.prototype.onChange = function (listener) { this.listeners.push(listener); };
  /* Called when the time that was chosen is no longer free after the times are fetched again. */
  SlotPicker.prototype.onTaken = function (listener) { this.takenListeners.push(listener); };

  /* Today in the clinic's zone (the browser may be elsewhere); the page's own date if Intl can't say. */
  SlotPicker.prototype.firstDay = function () {
    try {
      var parts = new Intl.DateTimeFormat("en-CA", { timeZone: this.root.dataset.timezone, year: "numeric",
        month: "2-digit", day: "2-digit" }).formatToParts(new Date());
      var get = function (type) { return parts.filter(function (p) { return p.type === type; })[0].value; };
      return get("year") + "-" + get("month") + "-" + get("day");
    } catch (error) {
      return this.root.dataset.from || new Date().toISOString().slice(0, 10);
    }
  };

  SlotPicker.prototype.url = function () {
    var first = this.firstDay();
    var last = ui.addDays(first, Number(this.root.dataset.days || 14) - 1);
    var query = new URLSearchParams({ service: this.root.dataset.service, from: first, to: last });
    return this.root.dataset.url + "?" + query.toString();
  };

  /* Another service's times: what was chosen or shown for the old one no longer applies. */
  SlotPicker.prototype.changeService = function (code) {
    this.root.dataset.service = code;
    this.daysBox.replaceChildren();
    this.timesBox.replaceChildren();
    return this.load(null, true);
  };

  /* Fetch the free times; `note` (optional) is said first, e.g. why the times were refreshed. The time
     already chosen stays chosen if it is still free (unless `dropChoice`); if it is gone, the picker says so
     instead of clearing it silently. An answer to an older request than the newest is ignored. */
  SlotPicker.prototype.load = function (note, dropChoice) {
    var picker = this;
    var chosen = dropChoice ? "" : picker.input.value;
    var ticket = ++picker.request;
    picker.setStatus(said(note, "Loading free times…"));
    picker.select(null);
    return fetch(picker.url(), { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) throw new Error((body.error && body.error.message) || "failed");
          return body;
        });
      })
      .then(function (body) { if (ticket === picker.request) picker.show(body.slots || [], note, chosen); })
      .catch(function () { if (ticket === picker.request) picker.failed(); });
  };

  SlotPicker.prototype.setStatus = function (text) {
    this.status.textContent = text;
  };

  SlotPicker.prototype.failed = function () {
    var picker = this;
    picker.daysBox.replaceChildren();
    picker.timesBox.replaceChildren();
    picker.setStatus("We could not load the free times just now. ");
    var retry = el("button", { type: "button", class: "btn btn-secondary btn-small" }, "Try again");
    retry.addEventListener("click", function () { picker.load(); });
    picker.status.appendChild(retry);
  };

  /* The free slots by the clinic's calendar day; whether `chosen` is among them. */
  SlotPicker.prototype.group = function (slots, chosen) {
    var byDay = new Map();
    var stillFree = false;
    slots.forEach(function (slot) {
      var clock = wallClock(slot.start);
      if (!clock || slot.available < 1) return;
      if (slot.start === chosen) stillFree = true;
      if (!byDay.has(clock.date)) byDay.set(clock.date, []);
      byDay.get(clock.date).push({ start: slot.start, clock: clock });
    });
    this.byDay = byDay;
    return stillFree;
  };

  SlotPicker.prototype.show = function (slots, note, chosen) {
    var previousDay = this.day;
    var stillFree = this.group(slots, chosen);
    if (chosen && !stillFree) {
      note = said(note, TAKEN);
      this.takenListeners.forEach(function (listener) { listener(chosen); });
    }
    this.renderDays();
    if (this.byDay.size === 0) {
      var phone = this.root.dataset.phone;
      this.timesBox.replaceChildren();
      this.setStatus(said(note, this.root.dataset.empty || "There are no free times.") +
        (phone ? " Please call us at " + phone + " and we will find a time with you." : ""));
      return;
    }
    var days = this.byDay.size === 1 ? "1 day" : this.byDay.size + " days";
    this.setStatus(said(note, "Free times on " + days + ". Choose a day, then a time."));
    var keep = stillFree ? wallClock(chosen).date : null;
    this.showDay(keep || (this.byDay.has(previousDay) ? previousDay : this.byDay.keys().next().value), false);
    if (keep) this.select(this.timesBox.querySelector('button[data-start="' + chosen + '"]'));
  };

  SlotPicker.prototype.renderDays = function () {
    var picker = this;
    var heading = el(picker.heading, { class: "slot-day-title", id: picker.ids + "-days-title" }, "Day");
    var list = el("ul", { class: "slot-list", "aria-labelledby": picker.ids + "-days-title" });
    picker.byDay.forEach(function (times, day) {
      var button = ui.dayButton(day, times.length);
      button.addEventListener("click", function () { picker.showDay(day, true); });
      list.appendChild(el("li")).appendChild(button);
    });
    arrowKeys(list);
    picker.daysBox.replaceChildren(heading, list);
    if (picker.byDay.size === 0) picker.daysBox.replaceChildren();
  };

  /* One list of time buttons under its part of the day ("Morning"), labelled by the day's title and the part. */
  SlotPicker.prototype.timeList = function (part, slots, title) {
    var picker = this;
    var id = picker.ids + "-times-" + part.toLowerCase();
    var list = el("ul", { class: "slot-list", "aria-labelledby": title + " " + id });
    slots.forEach(function (slot) {
      var button = el("button", { type: "button", class: "slot", "aria-pressed": "false", "data-start": slot.start },
        timeLabel(slot.clock));
      button.addEventListener("click", function () { picker.select(button); });
      list.appendChild(el("li")).appendChild(button);
    });
    arrowKeys(list);
    return [el("p", { class: "muted small slot-part", id: id }, part), list];
  };

  /* Show the times of one day; `focusFirst` moves focus to its first time (after a click on a day). */
  SlotPicker.prototype.showDay = function (day, focusFirst) {
    var picker = this;
    picker.day = day;
    var dayButtons = Array.prototype.slice.call(picker.daysBox.querySelectorAll("button[data-day]"));
    press(dayButtons, dayButtons.filter(function (b) { return b.dataset.day === day; })[0]);
    picker.select(null);
    var title = picker.ids + "-times-title";
    var box = document.createDocumentFragment();
    box.appendChild(el(picker.heading, { class: "slot-day-title", id: title }, "Times on " + dayLabel(day)));
    var groups = new Map();
    picker.byDay.get(day).forEach(function (slot) {
      var part = partOfDay(slot.clock);
      if (!groups.has(part)) groups.set(part, []);
      groups.get(part).push(slot);
    });
    groups.forEach(function (slots, part) {
      picker.timeList(part, slots, title).forEach(function (node) { box.appendChild(node); });
    });
    picker.timesBox.replaceChildren(box);
    if (focusFirst) {
      var first = picker.timesBox.querySelector("button");
      if (first) first.focus();
    }
  };

  SlotPicker.prototype.select = function (button) {
    press(Array.prototype.slice.call(this.timesBox.querySelectorAll("button[data-start]")), button);
    var start = button ? button.dataset.start : "";
    this.input.value = start;
    this.chosen.textContent = button ? "You chose " + dayLabel(wallClock(start).date) + " at " + button.textContent + "." : "";
    this.listeners.forEach(function (listener) { listener(start); });
  };

  /* A picker for `root`, its times loaded now (or when its folded <details> first opens) and again when the
     patient comes back to the tab (the chosen time is kept if still free). Errors about the time go by the
     picker's card (data-field="start"). */
  function startPicker(root) {
    var picker = new SlotPicker(root);
    var wrapper = root.closest("[data-field], section, .card") || root.parentNode;
    if (!wrapper.hasAttribute("data-field")) wrapper.setAttribute("data-field", "start");
    var folded = root.closest("details");
    if (folded && !folded.open) {
      folded.addEventListener("toggle", function load() {
        folded.removeEventListener("toggle", load);
        picker.load();
      });
    } else {
      picker.load();
    }
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible" && picker.byDay.size) picker.load();
    });
    return picker;
  }

  // ---- Errors shown by field ----------------------------------------------------------------------

  /* The summary ([data-error-summary], templates/_forms.html error_summary) and messages by their fields
     ([data-field="name"]). Error ids are "<name>-error", or "<scope>-<name>-error" when the form has
     data-error-scope (two forms on one page with fields of the same name). */
  function ErrorDisplay(form) {
    this.form = form;
    this.summary = form.querySelector("[data-error-summary]");
    this.scope = form.dataset.errorScope ? form.dataset.errorScope + "-" : "";
  }

  ErrorDisplay.prototype.clear = function () {
    this.form.querySelectorAll(".field-error[data-from-api]").forEach(function (node) { node.remove(); });
    this.form.querySelectorAll(".field-invalid").forEach(function (node) { node.classList.remove("field-invalid"); });
    this.form.querySelectorAll("[data-error-id]").forEach(function (node) {
      var kept = (node.getAttribute("aria-describedby") || "").split(" ").filter(function (id) {
        return id && id !== node.getAttribute("data-error-id");
      });
      if (kept.length) node.setAttribute("aria-describedby", kept.join(" "));
      else node.removeAttribute("aria-describedby");
      node.removeAttribute("data-error-id");
      node.removeAttribute("aria-invalid");
    });
    this.summary.hidden = true;
    this.summary.querySelector("[data-error-list]").replaceChildren();
  };

  /* Where a field's message goes: before [data-error-before], else after its hint, else after its label. */
  function placeError(wrapper, error) {
    var before = wrapper.querySelector("[data-error-before]");
    var after = wrapper.querySelector(":scope > .field-hint, :scope > fieldset > .field-hint") ||
      wrapper.querySelector(":scope > legend, :scope > label, :scope > fieldset > legend");
    if (before) before.parentNode.insertBefore(error, before);
    else if (after) after.after(error);
    else wrapper.prepend(error);
  }

  /* Put a message by its field; returns the id to link to, or null when the form has no such field. A group
     of choices (a fieldset) is described by the message; a single control is also marked invalid. */
  ErrorDisplay.prototype.markField = function (name, message) {
    var wrapper = this.form.querySelector('[data-field="' + name + '"]');
    if (!wrapper) return null;
    var id = this.scope + name + "-error";
    var error = el("p", { class: "field-error", id: id, "data-from-api": "" });
    error.appendChild(el("span", { class: "visually-hidden" }, "Error: "));
    error.appendChild(document.createTextNode(message));
    placeError(wrapper, error);
    wrapper.classList.add("field-invalid");
    var control = wrapper.tagName === "FIELDSET" ? wrapper
      : wrapper.querySelector("fieldset, input:not([type=hidden]), select, textarea");
    if (control) {
      control.setAttribute("aria-describedby", ((control.getAttribute("aria-describedby") || "") + " " + id).trim());
      control.setAttribute("data-error-id", id);
      if (control.tagName !== "FIELDSET") control.setAttribute("aria-invalid", "true");
    }
    var target = wrapper.querySelector("input:not([type=hidden])[id], select[id], textarea[id]") ||
      wrapper.querySelector("[id]:not([type=hidden])");
    return target ? target.id : null;
  };

  /* message: the API's sentence; fields: {name: message}, possibly for names this form doesn't have
     (such as "patient"): those are listed in the summary only. */
  ErrorDisplay.prototype.show = function (message, fields) {
    var display = this;
    var list = display.summary.querySelector("[data-error-list]");
    var texts = [];
    Object.keys(fields || {}).forEach(function (name) {
      var text = typeof fields[name] === "string" && fields[name] ? fields[name] : message;
      var id = display.markField(name, text);
      var item = el("li");
      if (id) item.appendChild(el("a", { href: "#" + id }, text));
      else item.textContent = text;
      list.appendChild(item);
      texts.push(text);
    });
    if (texts.indexOf(message) < 0) list.prepend(el("li", {}, message));
    display.summary.hidden = false;
    display.summary.focus();
  };

  /* A chosen time taken by someone else while the form was open: say so in the summary and by the picker, and
     drop the message once another time is chosen. */
  function explainTaken(picker, errors) {
    picker.onTaken(function () {
      errors.clear();
      errors.show(TAKEN, { start: TAKEN });
    });
    picker.onChange(function (start) {
      if (!start) return;
      var wrapper = errors.form.querySelector('[data-field="start"]');
      var stale = wrapper && wrapper.querySelector(".field-error[data-from-api]");
      if (stale) { stale.remove(); wrapper.classList.remove("field-invalid"); }
    });
  }

  // ---- Sending a booking form ------------------------------------------------------------------------

  /* The submit flow the booking forms share. options: body() -> the JSON to send; check(body) -> {field: message}
     the browser can already see; summary: the summary's sentence for those (else the first message); busy: the
     button's label meanwhile; created(payload, done) on 201: true once it has dealt with the answer (it calls
     done() to free the button if the page stays); refused(result, error) for anything else. */
  function sendForm(form, errors, options) {
    var submit = form.querySelector("[data-submit]");
    var label = submit.textContent;
    submit.disabled = false;
    function done() { submit.disabled = false; submit.textContent = label; }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      errors.clear();
      var body = options.body();
      var found = options.check(body);
      var names = Object.keys(found);
      if (names.length) {
        errors.show(options.summary || found[names[0]], found);
        return;
      }
      submit.disabled = true;
      submit.textContent = options.busy;
      ui.postJson(form.dataset.url, body).then(function (result) {
        if (result.status === 201 && options.created(result.payload, done)) return;
        done();
        options.refused(result, ui.failure(result));
      }).catch(function () { done(); errors.show(ui.OFFLINE, {}); });
    });
  }

  ui.sendForm = sendForm;
  ui.SlotPicker = SlotPicker;
  ui.startPicker = startPicker;
  ui.ErrorDisplay = ErrorDisplay;
  ui.explainTaken = explainTaken;
  ui.TAKEN = TAKEN;
})();
