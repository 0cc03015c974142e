/*
 * Booking pages: the time picker ([data-slot-picker], fed by GET /api/v1/availability) and the
 * free-consultation form ([data-booking-form], sent to POST /api/v1/appointments).
 *
 * Times are the clinic's wall-clock times: the API gives each start as ISO 8601 with the clinic's
 * offset, and the date and "HH:MM" are read from that string itself. Converting with Date() would
 * show the browser's zone, which is wrong for a patient traveling or booking for another city.
 */
(function () {
  "use strict";

  var ui = window.ClinicUI;
  var csrfToken = ui.csrfToken,
    el = ui.el,
    wallClock = ui.wallClock,
    timeLabel = ui.timeLabel,
    addDays = ui.addDays,
    dayLabel = ui.dayLabel,
    sameSitePath = ui.sameSitePath,
    press = ui.press,
    arrowKeys = ui.arrowKeys;

  var TAKEN = "That time was just taken. Please choose another.";

  function partOfDay(clock) {
    if (clock.hour < 12) return "Morning";
    return clock.hour < 17 ? "Afternoon" : "Evening";
  }

  // ---- The time picker --------------------------------------------------------------------------

  function SlotPicker(root) {
    this.root = root;
    this.input = document.getElementById(root.dataset.target) || root.querySelector('input[name="start"]');
    this.status = root.querySelector("[data-slot-status]");
    this.daysBox = root.querySelector("[data-slot-days]");
    this.timesBox = root.querySelector("[data-slot-times]");
    this.chosen = root.querySelector("[data-slot-chosen]");
    this.byDay = new Map();
    this.day = null;
    this.listeners = [];
    this.takenListeners = [];
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
    var last = addDays(first, Number(this.root.dataset.days || 14) - 1);
    var query = new URLSearchParams({ service: this.root.dataset.service, from: first, to: last });
    return this.root.dataset.url + "?" + query.toString();
  };

  /* Fetch the free times; `note` (optional) is said first, e.g. why the times were refreshed. The time
     already chosen stays chosen if it is still free (unless `dropChoice`); if it is gone, the picker says so
     instead of clearing it silently. */
  SlotPicker.prototype.load = function (note, dropChoice) {
    var picker = this;
    var chosen = dropChoice ? "" : picker.input.value;
    picker.setStatus((note ? note + " " : "") + "Loading free times…");
    picker.select(null);
    return fetch(picker.url(), { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) throw new Error((body.error && body.error.message) || "failed");
          return body;
        });
      })
      .then(function (body) { picker.show(body.slots || [], note, chosen); })
      .catch(function () { picker.failed(); });
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

  SlotPicker.prototype.show = function (slots, note, chosen) {
    var previousDay = this.day;
    this.byDay = new Map();
    var stillFree = false;
    slots.forEach(function (slot) {
      if (slot.start === chosen && slot.available > 0) stillFree = true;
      var clock = wallClock(slot.start);
      if (!clock || slot.available < 1) return;
      if (!this.byDay.has(clock.date)) this.byDay.set(clock.date, []);
      this.byDay.get(clock.date).push({ start: slot.start, clock: clock });
    }, this);
    if (chosen && !stillFree) {
      note = (note ? note + " " : "") + TAKEN;
      this.takenListeners.forEach(function (listener) { listener(chosen); });
    }
    this.renderDays();
    if (this.byDay.size === 0) {
      var phone = this.root.dataset.phone;
      this.setStatus((note ? note + " " : "") + "There are no free times in the next two weeks." +
        (phone ? " Please call us at " + phone + " and we will find a time with you." : ""));
      return;
    }
    var days = this.byDay.size === 1 ? "1 day" : this.byDay.size + " days";
    this.setStatus((note ? note + " " : "") + "Free times on " + days + ". Choose a day, then a time.");
    var keep = stillFree ? wallClock(chosen).date : null;
    this.showDay(keep || (this.byDay.has(previousDay) ? previousDay : this.byDay.keys().next().value), false);
    if (keep) this.select(this.timesBox.querySelector('button[data-start="' + chosen + '"]'));
  };

  SlotPicker.prototype.renderDays = function () {
    var picker = this;
    var heading = el("h3", { class: "slot-day-title", id: picker.ids + "-days-title" }, "Day");
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

  /* Show the times of one day; `focusFirst` moves focus to its first time (after a click on a day). */
  SlotPicker.prototype.showDay = function (day, focusFirst) {
    var picker = this;
    picker.day = day;
    var dayButtons = Array.prototype.slice.call(picker.daysBox.querySelectorAll("button[data-day]"));
    press(dayButtons, dayButtons.filter(function (b) { return b.dataset.day === day; })[0]);
    picker.select(null);
    var box = document.createDocumentFragment();
    var title = picker.ids + "-times-title";
    box.appendChild(el("h3", { class: "slot-day-title", id: title }, "Times on " + dayLabel(day)));
    var groups = new Map();
    picker.byDay.get(day).forEach(function (slot) {
      var part = partOfDay(slot.clock);
      if (!groups.has(part)) groups.set(part, []);
      groups.get(part).push(slot);
    });
    groups.forEach(function (slots, part) {
      var id = picker.ids + "-times-" + part.toLowerCase();
      box.appendChild(el("p", { class: "muted small slot-part", id: id }, part));
      var list = el("ul", { class: "slot-list", "aria-labelledby": title + " " + id });
      slots.forEach(function (slot) {
        var button = el("button", { type: "button", class: "slot", "aria-pressed": "false", "data-start": slot.start },
          timeLabel(slot.clock));
        button.addEventListener("click", function () { picker.select(button); });
        list.appendChild(el("li")).appendChild(button);
      });
      arrowKeys(list);
      box.appendChild(list);
    });
    picker.timesBox.replaceChildren(box);
    if (focusFirst) {
      var first = picker.timesBox.querySelector("button");
      if (first) first.focus();
    }
  };

  SlotPicker.prototype.select = function (button) {
    var buttons = Array.prototype.slice.call(this.timesBox.querySelectorAll("button[data-start]"));
    press(buttons, button);
    var start = button ? button.dataset.start : "";
    this.input.value = start;
    this.chosen.textContent = button ? "You chose " + dayLabel(wallClock(start).date) + " at " + button.textContent + "." : "";
    this.listeners.forEach(function (listener) { listener(start); });
  };

  // ---- Errors shown by field ----------------------------------------------------------------------

  function ErrorDisplay(form) {
    this.form = form;
    this.summary = form.querySelector("[data-error-summary]");
  }

  ErrorDisplay.prototype.clear = function () {
    this.form.querySelectorAll(".field-error[data-from-api]").forEach(function (node) { node.remove(); });
    this.form.querySelectorAll(".field-invalid").forEach(function (node) { node.classList.remove("field-invalid"); });
    this.form.querySelectorAll("[aria-invalid]").forEach(function (node) {
      node.removeAttribute("aria-invalid");
      var describedBy = (node.getAttribute("aria-describedby") || "").split(" ").filter(function (id) {
        return id && !/-error$/.test(id);
      });
      if (describedBy.length) node.setAttribute("aria-describedby", describedBy.join(" "));
      else node.removeAttribute("aria-describedby");
    });
    if (this.summary) {
      this.summary.hidden = true;
      this.summary.querySelector("[data-error-list]").replaceChildren();
    }
  };

  /* Put a message by its field; returns the id to link to, or null when the form has no such field. */
  ErrorDisplay.prototype.markField = function (name, message) {
    var wrapper = this.form.querySelector('[data-field="' + name + '"]');
    if (!wrapper) return null;
    var control = wrapper.querySelector("input:not([type=hidden]), select, textarea");
    var id = name + "-error";
    var error = el("p", { class: "field-error", id: id, "data-from-api": "" });
    error.appendChild(el("span", { class: "visually-hidden" }, "Error: "));
    error.appendChild(document.createTextNode(message));
    var before = wrapper.querySelector("[data-error-before]");
    var after = wrapper.querySelector(".field-hint") || wrapper.querySelector("legend, label");
    if (before) before.parentNode.insertBefore(error, before);
    else if (after) after.after(error);
    else wrapper.prepend(error);
    wrapper.classList.add("field-invalid");
    var described = name === "mode" ? wrapper.querySelector("fieldset") : control;
    if (described) {
      described.setAttribute("aria-describedby", ((described.getAttribute("aria-describedby") || "") + " " + id).trim());
    }
    if (control && name !== "mode") control.setAttribute("aria-invalid", "true");
    var target = control || wrapper.querySelector("[id]");
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

  // ---- Booking a consultation -----------------------------------------------------------------------

  var EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

  /* Every problem the browser can see, by field, with the API's own sentences; {} when none. */
  function problems(body) {
    var found = {};
    if (!body.start) found.start = "Please choose a day and time.";
    if (body.driver) {
      if (!body.driver.name) found.name = "Please give the driver's name.";
      if (!body.driver.phone) found.phone = "Please give the driver's phone number.";
      if (!body.driver.relationship) found.relationship = "Please say how the driver is related to the patient.";
    }
    if (!body.patient) return found;
    if (!body.patient.name.trim()) found.name = "Please enter your name.";
    if (!body.patient.email.trim()) found.email = "Please enter your email address.";
    else if (!EMAIL.test(body.patient.email.trim())) found.email = "Please enter a valid email address, like name@example.com.";
    var digits = body.patient.phone.replace(/\D/g, "").length;
    if (!body.patient.phone.trim()) found.phone = "Please enter your phone number.";
    else if (digits < 7) found.phone = "Please enter a valid phone number, with at least 7 digits.";
    return found;
  }

  function bookingBody(form) {
    var data = new FormData(form);
    var body = { service: form.dataset.service, start: data.get("start"), mode: data.get("mode") || "phone" };
    if (form.querySelector("#patient-name")) {
      body.patient = { name: data.get("name") || "", email: data.get("email") || "", phone: data.get("phone") || "" };
    }
    if (form.dataset.patientId) body.patient_id = Number(form.dataset.patientId);  // staff booking for a caller
    if (form.querySelector('[name="driver_name"]')) {
      body.driver = { name: (data.get("driver_name") || "").trim(), phone: (data.get("driver_phone") || "").trim(),
        relationship: (data.get("driver_relationship") || "").trim() };
    }
    return body;
  }

  function initBookingForm(form, picker) {
    var errors = new ErrorDisplay(form);
    var submit = form.querySelector("[data-submit]");
    var label = submit.textContent;
    submit.disabled = false;
    picker.onChange(function (start) {
      if (!start) return;
      var wrapper = form.querySelector('[data-field="start"]');
      var stale = wrapper && wrapper.querySelector(".field-error[data-from-api]");
      if (stale) { stale.remove(); wrapper.classList.remove("field-invalid"); }
    });
    picker.onTaken(function () {
      errors.clear();
      errors.show(TAKEN, { start: TAKEN });
    });

    function done() { submit.disabled = false; submit.textContent = label; }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      errors.clear();
      var body = bookingBody(form);
      var found = problems(body);
      var names = Object.keys(found);
      if (names.length) {
        errors.show(found[names[0]], found);
        return;
      }
      submit.disabled = true;
      submit.textContent = "Booking…";
      fetch(form.dataset.url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify(body),
      }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (payload) {
          if (response.status === 201 && payload.appointment) {
            // Staff go back to the day they booked; a patient goes to the booking's own page.
            var next = form.dataset.next ? form.dataset.next + "?day=" + payload.appointment.start.slice(0, 10) : null;
            window.location.assign(next || sameSitePath(payload.appointment.manage_url));
            return;
          }
          var error = payload.error || { message: "Something went wrong on our side. Please try again.", fields: {} };
          done();
          if (response.status === 409 && error.code === "slot_taken") {
            picker.load(TAKEN, true);  // the rest of the form stays as it was
            errors.show(TAKEN, { start: TAKEN });
            return;
          }
          if (response.status === 409) {
            picker.load("We have refreshed the free times.");
            errors.show(error.message, {});
            return;
          }
          errors.show(error.message, error.fields || {});
        });
      }).catch(function () {
        done();
        errors.show("We could not reach the clinic. Please check your connection and try again.", {});
      });
    });
  }

  /* Rescheduling on the manage page is a plain form POST; only make sure a time was chosen. */
  function initRescheduleForm(form, picker) {
    var submit = form.querySelector("[data-submit]");
    submit.disabled = true;
    picker.onChange(function (start) { submit.disabled = !start; });
  }

  document.querySelectorAll("[data-slot-picker]").forEach(function (root) {
    var picker = new SlotPicker(root);
    var wrapper = root.closest("section, .card") || root.parentNode;
    wrapper.setAttribute("data-field", "start");
    var form = root.closest("form");
    if (form && form.hasAttribute("data-booking-form")) initBookingForm(form, picker);
    else if (form && form.hasAttribute("data-reschedule-form")) initRescheduleForm(form, picker);
    // A picker folded away in <details> loads its times when first opened.
    var folded = root.closest("details");
    if (folded && !folded.open) {
      folded.addEventListener("toggle", function load() {
        folded.removeEventListener("toggle", load);
        picker.load();
      });
    } else {
      picker.load();
    }
    // Coming back to the page after a while: fetch the times again (the chosen one is kept if still free).
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible" && picker.byDay.size) picker.load();
    });
  });
})();
