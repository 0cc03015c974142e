/*
 * Small helpers shared by the pages' scripts (slot-picker.js, book.js, treatments.js, account.js): loaded first, as
 * window.ClinicUI.
 *
 * Times are the clinic's wall-clock times: the API gives each start as ISO 8601 with the clinic's
 * offset, and the date and "HH:MM" are read from that string itself. Converting with Date() would
 * show the browser's zone, which is wrong for a patient traveling or booking for another city.
 */
(function () {
  "use strict";

  /* The US forms of clinic.formatting (long_date, short_date): a calendar date is a UTC midnight, so it is
   * read in UTC; an instant would be read in the clinic's zone (data-timezone). */
  function dateFormat(options) {
    return new Intl.DateTimeFormat("en-US", Object.assign({ timeZone: "UTC" }, options));
  }
  var LONG_DATE = dateFormat({ weekday: "long", month: "long", day: "numeric", year: "numeric" });
  var SHORT_DATE = dateFormat({ month: "short", day: "numeric" });
  var SHORT_WEEKDAY = dateFormat({ weekday: "short" });
  var MEDIUM_DATE = dateFormat({ month: "short", day: "numeric", year: "numeric" });

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /* "2026-12-01T09:00:00-05:00" -> {date: "2026-12-01", hour: 9, minute: 0} */
  function wallClock(iso) {
    var match = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})/.exec(iso || "");
    return match ? { date: match[1], hour: Number(match[2]), minute: Number(match[3]) } : null;
  }

  function timeLabel(clock) {
    var hour = clock.hour % 12 || 12;
    return hour + ":" + String(clock.minute).padStart(2, "0") + " " + (clock.hour < 12 ? "AM" : "PM");
  }

  /* A calendar date as a UTC midnight, so weekday arithmetic never meets the browser's zone. */
  function calendarDate(isoDate) {
    var parts = isoDate.split("-").map(Number);
    return new Date(Date.UTC(parts[0], parts[1] - 1, parts[2]));
  }

  function addDays(isoDate, days) {
    var date = calendarDate(isoDate);
    date.setUTCDate(date.getUTCDate() + days);
    return date.toISOString().slice(0, 10);
  }

  /* "Wednesday, March 17, 2027" */
  function dayLabel(isoDate) {
    return LONG_DATE.format(calendarDate(isoDate));
  }

  /* "Wed, Mar 17": the label on a day button (its aria-label carries dayLabel). */
  function shortDayLabel(isoDate) {
    var date = calendarDate(isoDate);
    return SHORT_WEEKDAY.format(date) + ", " + SHORT_DATE.format(date);
  }

  /* "Mar 17, 2027": an instant from the API (written with the clinic's offset) on the clinic's calendar. */
  function instantDate(iso) {
    var clock = wallClock(iso);
    return clock ? MEDIUM_DATE.format(calendarDate(clock.date)) : "";
  }

  /* A day's button in a time picker. WCAG 2.5.3 (label in name): its accessible name starts with the words
     shown on it, so a voice-control user who says what they see reaches it; the number of free times follows. */
  function dayButton(isoDate, count) {
    var button = el("button", { type: "button", class: "slot", "aria-pressed": "false", "data-day": isoDate },
      shortDayLabel(isoDate));
    button.setAttribute("aria-label", button.textContent + ", " + count + (count === 1 ? " free time" : " free times"));
    return button;
  }

  /* POST a JSON body with the session's CSRF header; resolves to {status, payload} whatever the status. */
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

  /* The API's error of a refused postJson answer ({message, code, fields}), or a general one. */
  function failure(result) {
    return result.payload.error || { message: "Something went wrong on our side. Please try again.", fields: {} };
  }

  var OFFLINE = "We could not reach the clinic. Please check your connection and try again.";

  /* Follow only a link on this site, whatever host the API wrote into it. */
  function sameSitePath(url) {
    var parsed = new URL(url, window.location.href);
    return parsed.pathname + parsed.search + parsed.hash;
  }

  function press(buttons, chosen) {
    buttons.forEach(function (button) { button.setAttribute("aria-pressed", String(button === chosen)); });
  }

  /* Arrow keys, Home and End move between the buttons of one list; Tab still reaches each of them. */
  function arrowKeys(list) {
    list.addEventListener("keydown", function (event) {
      var buttons = Array.prototype.slice.call(list.querySelectorAll("button"));
      var index = buttons.indexOf(document.activeElement);
      if (index < 0) return;
      var next = { ArrowRight: index + 1, ArrowDown: index + 1, ArrowLeft: index - 1, ArrowUp: index - 1,
        Home: 0, End: buttons.length - 1 }[event.key];
      if (next === undefined) return;
      event.preventDefault();
      buttons[Math.max(0, Math.min(buttons.length - 1, next))].focus();
    });
  }

  window.ClinicUI = {
    csrfToken: csrfToken, el: el, wallClock: wallClock, timeLabel: timeLabel, calendarDate: calendarDate,
    addDays: addDays, dayLabel: dayLabel, shortDayLabel: shortDayLabel, instantDate: instantDate, dayButton: dayButton, sameSitePath: sameSitePath, press: press, arrowKeys: arrowKeys,
    postJson: postJson, failure: failure, OFFLINE: OFFLINE,
  };
})();
