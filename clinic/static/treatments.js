/*
 * The treatment booking page (/account/treatments):
 *  - [data-treatment-form]: one treatment. A time picker fed by GET /api/v1/availability (the signed-in
 *    patient's availability already leaves out days that break their protocol), the designated driver,
 *    then POST /api/v1/appointments {service, start, driver}; on 201 go to the pay step (a held treatment)
 *    or the appointment's manage page.
 *  - [data-series-form]: a whole induction series, POST /api/v1/series; on 201 list the held sessions.
 * The browser session authenticates the API; writes send the X-CSRFToken header from <meta name="csrf-token">.
 * Times are the clinic's wall-clock times, read from the ISO strings themselves (never Date() in the browser's zone).
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


  function postJson(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body),
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (payload) {
        return { status: response.status, payload: payload };
      });
    });
  }

  // ---- The time picker --------------------------------------------------------------------------

  function SlotPicker(root) {
    this.root = root;
    this.input = root.querySelector('input[name="start"]');
    this.status = root.querySelector("[data-slot-status]");
    this.daysBox = root.querySelector("[data-slot-days]");
    this.timesBox = root.querySelector("[data-slot-times]");
    this.chosen = root.querySelector("[data-slot-chosen]");
    this.byDay = new Map();
    this.listeners = [];
    this.request = 0;
  }

  SlotPicker.prototype.firstDay = function () {
    try {
      var parts = new Intl.DateTimeFormat("en-CA", { timeZone: this.root.dataset.timezone, year: "numeric",
        month: "2-digit", day: "2-digit" }).formatToParts(new Date());
      var get = function (type) { return parts.filter(function (p) { return p.type === type; })[0].value; };
      return get("year") + "-" + get("month") + "-" + get("day");
    } catch (error) {
      return this.root.dataset.from;
    }
  };

  SlotPicker.prototype.load = function (service, note) {
    var picker = this;
    if (service) picker.root.dataset.service = service;
    var first = picker.firstDay();
    var query = new URLSearchParams({ service: picker.root.dataset.service, from: first,
      to: addDays(first, Number(picker.root.dataset.days || 28) - 1) });
    var ticket = ++picker.request;
    picker.status.textContent = (note ? note + " " : "") + "Loading free times…";
    picker.daysBox.replaceChildren();
    picker.timesBox.replaceChildren();
    picker.select(null);
    return fetch(picker.root.dataset.url + "?" + query.toString(),
      { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) throw new Error("failed");
          return body;
        });
      })
      .then(function (body) { if (ticket === picker.request) picker.show(body.slots || [], note); })
      .catch(function () { if (ticket === picker.request) picker.failed(); });
  };

  SlotPicker.prototype.failed = function () {
    var picker = this;
    picker.status.textContent = "We could not load the free times just now. ";
    var retry = el("button", { type: "button", class: "btn btn-secondary btn-small" }, "Try again");
    retry.addEventListener("click", function () { picker.load(); });
    picker.status.appendChild(retry);
  };

  SlotPicker.prototype.show = function (slots, note) {
    var picker = this;
    picker.byDay = new Map();
    slots.forEach(function (slot) {
      var clock = wallClock(slot.start);
      if (!clock || slot.available < 1) return;
      if (!picker.byDay.has(clock.date)) picker.byDay.set(clock.date, []);
      picker.byDay.get(clock.date).push({ start: slot.start, clock: clock });
    });
    if (picker.byDay.size === 0) {
      var phone = picker.root.dataset.phone;
      picker.status.textContent = (note ? note + " " : "") + "There are no times in the next four weeks that " +
        "keep your treatment plan." + (phone ? " Please call us at " + phone + " and we will find a time with you." : "");
      return;
    }
    var count = picker.byDay.size === 1 ? "1 day" : picker.byDay.size + " days";
    picker.status.textContent = (note ? note + " " : "") + "Free times on " + count + ". Choose a day, then a time.";
    var heading = el("h4", { class: "slot-day-title", id: "treatment-days-title" }, "Day");
    var list = el("ul", { class: "slot-list", "aria-labelledby": "treatment-days-title" });
    picker.byDay.forEach(function (times, day) {
      var button = ui.dayButton(day, times.length);
      button.addEventListener("click", function () { picker.showDay(day, true); });
      list.appendChild(el("li")).appendChild(button);
    });
    arrowKeys(list);
    picker.daysBox.replaceChildren(heading, list);
    picker.showDay(picker.byDay.keys().next().value, false);
  };

  SlotPicker.prototype.showDay = function (day, focusFirst) {
    var picker = this;
    var dayButtons = Array.prototype.slice.call(picker.daysBox.querySelectorAll("button[data-day]"));
    press(dayButtons, dayButtons.filter(function (b) { return b.dataset.day === day; })[0]);
    picker.select(null);
    var heading = el("h4", { class: "slot-day-title", id: "treatment-times-title" }, "Times on " + dayLabel(day));
    var list = el("ul", { class: "slot-list", "aria-labelledby": "treatment-times-title" });
    picker.byDay.get(day).forEach(function (slot) {
      var button = el("button", { type: "button", class: "slot", "aria-pressed": "false", "data-start": slot.start },
        timeLabel(slot.clock));
      button.addEventListener("click", function () { picker.select(button); });
      list.appendChild(el("li")).appendChild(button);
    });
    arrowKeys(list);
    picker.timesBox.replaceChildren(heading, list);
    if (focusFirst) list.querySelector("button").focus();
  };

  SlotPicker.prototype.select = function (button) {
    press(Array.prototype.slice.call(this.timesBox.querySelectorAll("button[data-start]")), button);
    var start = button ? button.dataset.start : "";
    this.input.value = start;
    this.chosen.textContent = button ? "You chose " + dayLabel(wallClock(start).date) + " at " + button.textContent + "." : "";
    this.listeners.forEach(function (listener) { listener(start); });
  };

  // ---- Errors next to their fields -----------------------------------------------------------------

  function ErrorDisplay(form) {
    this.form = form;
    this.summary = form.querySelector("[data-error-summary]");
  }

  ErrorDisplay.prototype.clear = function () {
    this.form.querySelectorAll(".field-error[data-from-api]").forEach(function (node) { node.remove(); });
    this.form.querySelectorAll(".field-invalid").forEach(function (node) { node.classList.remove("field-invalid"); });
    this.form.querySelectorAll("[aria-invalid]").forEach(function (node) { node.removeAttribute("aria-invalid"); });
    this.form.querySelectorAll("[data-error-id]").forEach(function (node) {
      var kept = (node.getAttribute("aria-describedby") || "").split(" ").filter(function (id) {
        return id && id !== node.getAttribute("data-error-id");
      });
      if (kept.length) node.setAttribute("aria-describedby", kept.join(" "));
      else node.removeAttribute("aria-describedby");
      node.removeAttribute("data-error-id");
    });
    this.summary.hidden = true;
    this.summary.querySelector("[data-error-list]").replaceChildren();
  };

  /* A message by its field (data-field="name"); returns the id to link to, or null without such a field. */
  ErrorDisplay.prototype.markField = function (name, message) {
    var wrapper = this.form.querySelector('[data-field="' + name + '"]');
    if (!wrapper) return null;
    var id = this.form.id + "-" + name + "-error";
    var error = el("p", { class: "field-error", id: id, "data-from-api": "" });
    error.appendChild(el("span", { class: "visually-hidden" }, "Error: "));
    error.appendChild(document.createTextNode(message));
    var before = wrapper.querySelector("[data-error-before]");
    var after = wrapper.querySelector(":scope > .field-hint") || wrapper.querySelector(":scope > legend, :scope > label");
    if (before) before.parentNode.insertBefore(error, before);
    else if (after) after.after(error);
    else wrapper.prepend(error);
    wrapper.classList.add("field-invalid");
    var control = wrapper.tagName === "FIELDSET" ? wrapper
      : wrapper.querySelector("fieldset, input:not([type=hidden]), select, textarea");
    if (control) {
      control.setAttribute("aria-describedby", ((control.getAttribute("aria-describedby") || "") + " " + id).trim());
      control.setAttribute("data-error-id", id);
      if (control.tagName !== "FIELDSET") control.setAttribute("aria-invalid", "true");
    }
    var target = wrapper.querySelector("input:not([type=hidden]), select, textarea, button") || control;
    return target && target.id ? target.id : null;
  };

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

  function driverOf(form) {
    var data = new FormData(form);
    return { name: (data.get("driver_name") || "").trim(), phone: (data.get("driver_phone") || "").trim(),
      relationship: (data.get("driver_relationship") || "").trim() };
  }

  /* Required fields checked before sending; the API checks everything again. */
  function missingDriver(driver) {
    var missing = {};
    if (!driver.name) missing.name = "Please give your driver's name.";
    if (!driver.phone) missing.phone = "Please give your driver's phone number.";
    if (!driver.relationship) missing.relationship = "Please say how your driver is related to you.";
    return missing;
  }

  function failure(result) {
    return result.payload.error || { message: "Something went wrong on our side. Please try again.", fields: {} };
  }

  var OFFLINE = "We could not reach the clinic. Please check your connection and try again.";

  // ---- One treatment -----------------------------------------------------------------------------------

  function initTreatmentForm(form) {
    var picker = new SlotPicker(form.querySelector("[data-slot-picker]"));
    var errors = new ErrorDisplay(form);
    var submit = form.querySelector("[data-submit]");
    var label = submit.textContent;
    var service = form.querySelector('select[name="service"]');
    submit.disabled = false;
    service.addEventListener("change", function () { picker.load(service.value); });

    function done() { submit.disabled = false; submit.textContent = label; }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      errors.clear();
      var body = { service: service.value, start: picker.input.value, driver: driverOf(form) };
      var missing = missingDriver(body.driver);
      if (!body.start) missing.start = "Please choose a day and time.";
      if (Object.keys(missing).length) {
        errors.show("Please complete the form.", missing);
        return;
      }
      submit.disabled = true;
      submit.textContent = "Holding…";
      postJson(form.dataset.url, body).then(function (result) {
        if (result.status === 201 && result.payload.appointment) {
          var booked = result.payload.appointment;
          window.location.assign(booked.status === "pending_payment" ? "/account/pay/appointments/" + booked.id
            : sameSitePath(booked.manage_url));
          return;
        }
        var error = failure(result);
        done();
        if (result.status === 409) picker.load(null, "We have refreshed the free times.");
        errors.show(error.message, error.fields || {});
      }).catch(function () { done(); errors.show(OFFLINE, {}); });
    });
    picker.load();
  }

  // ---- A whole series -----------------------------------------------------------------------------------

  function sessionLabel(iso) {
    var clock = wallClock(iso);
    return clock ? dayLabel(clock.date) + " at " + timeLabel(clock) : iso;
  }

  function initSeriesForm(form) {
    var errors = new ErrorDisplay(form);
    var submit = form.querySelector("[data-submit]");
    var label = submit.textContent;
    var result = document.querySelector("[data-series-result]");
    submit.disabled = false;

    function done() { submit.disabled = false; submit.textContent = label; }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      errors.clear();
      var data = new FormData(form);
      var body = { protocol: data.get("protocol"), first_date: data.get("first_date") || "",
        preferred_time: (data.get("preferred_time") || "").slice(0, 5), weekdays: data.getAll("weekdays"),
        driver: driverOf(form) };
      var missing = missingDriver(body.driver);
      if (!body.first_date) missing.first_date = "Please choose the first date.";
      if (!/^\d{2}:\d{2}$/.test(body.preferred_time)) missing.preferred_time = "Please give a time like 09:00.";
      if (Object.keys(missing).length) {
        errors.show("Please complete the form.", missing);
        return;
      }
      submit.disabled = true;
      submit.textContent = "Finding your sessions…";
      postJson(form.dataset.url, body).then(function (response) {
        done();
        if (response.status === 201 && response.payload.appointments) {
          var list = result.querySelector("[data-series-list]");
          list.replaceChildren();
          response.payload.appointments.forEach(function (appointment) {
            var item = el("li");
            item.appendChild(el("a", { href: sameSitePath(appointment.manage_url) }, sessionLabel(appointment.start)));
            list.appendChild(item);
          });
          var pay = result.querySelector("[data-series-pay]");
          if (pay) pay.setAttribute("href", "/account/pay/series/" + response.payload.appointments[0].series_id);
          form.hidden = true;
          result.hidden = false;
          result.focus();
          return;
        }
        var error = failure(response);
        errors.show(error.message, error.fields || {});
      }).catch(function () { done(); errors.show(OFFLINE, {}); });
    });
  }

  document.querySelectorAll("[data-treatment-form]").forEach(initTreatmentForm);
  document.querySelectorAll("[data-series-form]").forEach(initSeriesForm);
})();
