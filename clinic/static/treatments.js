/*
 * The treatment booking page (/account/treatments):
 *  - [data-treatment-form]: one treatment. The time picker (slot-picker.js; the signed-in patient's availability
 *    already leaves out days that break their protocol), the designated driver, then POST /api/v1/appointments
 *    {service, start, driver}; on 201 go to the pay step (a held treatment) or the appointment's manage page.
 *  - [data-series-form]: a whole induction series, POST /api/v1/series; on 201 list the held sessions.
 * The browser session authenticates the API; writes send the X-CSRFToken header from <meta name="csrf-token">.
 */
(function () {
  "use strict";

  var ui = window.ClinicUI;
  var el = ui.el;

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

  // ---- One treatment -----------------------------------------------------------------------------------

  function initTreatmentForm(form) {
    var picker = ui.startPicker(form.querySelector("[data-slot-picker]"));
    var errors = new ui.ErrorDisplay(form);
    var service = form.querySelector('select[name="service"]');
    service.addEventListener("change", function () { picker.changeService(service.value); });
    ui.explainTaken(picker, errors);
    ui.sendForm(form, errors, {
      body: function () { return { service: service.value, start: picker.input.value, driver: driverOf(form) }; },
      check: function (body) {
        var missing = missingDriver(body.driver);
        if (!body.start) missing.start = "Please choose a day and time.";
        return missing;
      },
      summary: "Please complete the form.",
      busy: "Holding…",
      created: function (payload) {
        var booked = payload.appointment;
        if (!booked) return false;
        window.location.assign(booked.status === "pending_payment" ? "/account/pay/appointments/" + booked.id
          : ui.sameSitePath(booked.manage_url));
        return true;
      },
      refused: function (result, error) {
        if (result.status === 409) picker.load("We have refreshed the free times.", true);
        errors.show(error.message, error.fields || {});
      },
    });
  }

  // ---- A whole series -----------------------------------------------------------------------------------

  function sessionLabel(iso) {
    var clock = ui.wallClock(iso);
    return clock ? ui.dayLabel(clock.date) + " at " + ui.timeLabel(clock) : iso;
  }

  function seriesBody(form) {
    var data = new FormData(form);
    return { protocol: data.get("protocol"), first_date: data.get("first_date") || "",
      preferred_time: (data.get("preferred_time") || "").slice(0, 5), weekdays: data.getAll("weekdays"),
      driver: driverOf(form) };
  }

  function seriesProblems(body) {
    var missing = missingDriver(body.driver);
    if (!body.first_date) missing.first_date = "Please choose the first date.";
    if (!/^\d{2}:\d{2}$/.test(body.preferred_time)) missing.preferred_time = "Please give a time like 09:00.";
    return missing;
  }

  /* The held sessions, each linked to its own page, and the way to pay for them all. */
  function showSeries(form, result, appointments) {
    var list = result.querySelector("[data-series-list]");
    list.replaceChildren();
    appointments.forEach(function (appointment) {
      var item = el("li");
      item.appendChild(el("a", { href: ui.sameSitePath(appointment.manage_url) }, sessionLabel(appointment.start)));
      list.appendChild(item);
    });
    var pay = result.querySelector("[data-series-pay]");
    if (pay) pay.setAttribute("href", "/account/pay/series/" + appointments[0].series_id);
    form.hidden = true;
    result.hidden = false;
    result.focus();
  }

  function initSeriesForm(form) {
    var errors = new ui.ErrorDisplay(form);
    ui.sendForm(form, errors, {
      body: function () { return seriesBody(form); },
      check: seriesProblems,
      summary: "Please complete the form.",
      busy: "Finding your sessions…",
      created: function (payload, done) {
        if (!payload.appointments) return false;
        done();
        showSeries(form, document.querySelector("[data-series-result]"), payload.appointments);
        return true;
      },
      refused: function (result, error) { errors.show(error.message, error.fields || {}); },
    });
  }

  document.querySelectorAll("[data-treatment-form]").forEach(initTreatmentForm);
  document.querySelectorAll("[data-series-form]").forEach(initSeriesForm);
})();
