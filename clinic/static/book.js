/*
 * Booking pages: the free-consultation form ([data-booking-form], sent to POST /api/v1/appointments; the front
 * desk books a caller's consultation or treatment with it too) and rescheduling ([data-reschedule-form]). The
 * time picker and the error display are slot-picker.js's (ClinicUI.startPicker, ClinicUI.ErrorDisplay).
 */
(function () {
  "use strict";

  var ui = window.ClinicUI;
  var TAKEN = ui.TAKEN;

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

  /* Where a refusal leaves the form: the times fetched again after a conflict, the message by its field. */
  function refused(result, picker, errors) {
    var error = ui.failure(result);
    if (result.status === 409 && error.code === "slot_taken") {
      picker.load(TAKEN, true);  // the rest of the form stays as it was
      errors.show(TAKEN, { start: TAKEN });
    } else if (result.status === 409) {
      picker.load("We have refreshed the free times.");
      errors.show(error.message, {});
    } else {
      errors.show(error.message, error.fields || {});
    }
  }

  function initBookingForm(form, picker) {
    var errors = new ui.ErrorDisplay(form);
    ui.explainTaken(picker, errors);
    ui.sendForm(form, errors, {
      body: function () { return bookingBody(form); },
      check: problems,
      busy: "Booking…",
      created: function (payload) {
        if (!payload.appointment) return false;
        // Staff go back to the day they booked; a patient goes to the booking's own page.
        var next = form.dataset.next ? form.dataset.next + "?day=" + payload.appointment.start.slice(0, 10) : null;
        window.location.assign(next || ui.sameSitePath(payload.appointment.manage_url));
        return true;
      },
      refused: function (result) { refused(result, picker, errors); },
    });
  }

  /* Rescheduling on the manage page is a plain form POST; only make sure a time was chosen. */
  function initRescheduleForm(form, picker) {
    var submit = form.querySelector("[data-submit]");
    submit.disabled = true;
    picker.onChange(function (start) { submit.disabled = !start; });
  }

  document.querySelectorAll("[data-slot-picker]").forEach(function (root) {
    var picker = ui.startPicker(root);
    var form = root.closest("form");
    if (form && form.hasAttribute("data-booking-form")) initBookingForm(form, picker);
    else if (form && form.hasAttribute("data-reschedule-form")) initRescheduleForm(form, picker);
  });
})();
