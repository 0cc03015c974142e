/*
 * The patient's account page: cancelling an appointment (POST /api/v1/appointments/ID/cancel with
 * the page's CSRF token, as the signed-in browser) and the list of payments and receipts
 * (GET /api/v1/payments). Without JavaScript the page still lists every appointment.
 */
(function () {
  "use strict";

  var ui = window.ClinicUI;
  var el = ui.el;

  var MESSAGE_KEY = "clinic.account.message";

  /* Integer cents to "$1,234.50" (as clinic.formatting.money); never through floating point. */
  function money(cents, currency) {
    var whole = Math.floor(Math.abs(cents) / 100).toLocaleString("en-US");
    var part = Math.abs(cents) % 100;
    var amount = whole + "." + String(part).padStart(2, "0");
    var sign = cents < 0 ? "-" : "";
    return (currency || "usd").toLowerCase() === "usd" ? sign + "$" + amount : sign + amount + " " + currency.toUpperCase();
  }

  var messageBox = document.querySelector("[data-account-message]");

  function say(text, kind) {
    if (!messageBox) return;
    messageBox.className = "notice" + (kind ? " notice-" + kind : "");
    messageBox.textContent = text;
    messageBox.hidden = false;
  }

  // A message kept over the reload that follows a cancellation.
  var kept = window.sessionStorage && sessionStorage.getItem(MESSAGE_KEY);
  if (kept) {
    sessionStorage.removeItem(MESSAGE_KEY);
    say(kept, "success");
  }

  function refundSentence(refund) {
    if (!refund || !refund.amount_cents) return "";
    return " A refund of " + money(refund.amount_cents, "usd") + " goes back to your card.";
  }

  function cancel(button) {
    if (button.disabled) return;
    button.disabled = true;
    ui.postJson(button.dataset.cancelUrl, {}).then(function (result) {
      var body = result.payload;
      if (result.status < 200 || result.status > 299) {
        button.disabled = false;
        say((body.error && body.error.message) || "We could not cancel that appointment. Please try again.", "error");
        return;
      }
      var text = "Your appointment on " + button.dataset.when + " is cancelled." + refundSentence(body.refund) +
        " We have emailed you a confirmation.";
      try { sessionStorage.setItem(MESSAGE_KEY, text); } catch (error) { /* private mode: no message kept */ }
      window.location.reload();
    }).catch(function () {
      button.disabled = false;
      say(ui.OFFLINE, "error");
    });
  }

  /* Cancelling works as a plain form without JavaScript; with it, the page says what was refunded. */
  document.querySelectorAll("[data-cancel]").forEach(function (details) {
    var button = details.querySelector("[data-cancel-url]");
    button.closest("form").addEventListener("submit", function (event) {
      event.preventDefault();
      cancel(button);
    });
  });

  // ---- Payments and receipts ------------------------------------------------------------------------

  var payments = document.querySelector("[data-payments]");
  var STATUS = { succeeded: "Paid", refunded: "Refunded", partially_refunded: "Partly refunded", pending: "Pending",
    failed: "Failed", requires_action: "Needs your action" };

  function paymentsTable(rows) {
    var wrap = el("div", { class: "table-wrap", role: "region", "aria-labelledby": "payments-title", tabindex: "0" });
    var table = wrap.appendChild(el("table", { class: "table" }));
    var head = table.appendChild(el("thead")).appendChild(el("tr"));
    ["Date", "Amount", "Refunded", "Status", "Receipt"].forEach(function (title) {
      head.appendChild(el("th", { scope: "col", class: title === "Amount" || title === "Refunded" ? "num" : "" }, title));
    });
    var body = table.appendChild(el("tbody"));
    rows.forEach(function (payment) {
      var row = body.appendChild(el("tr"));
      row.appendChild(el("th", { scope: "row" }, ui.instantDate(payment.created_at)));
      row.appendChild(el("td", { class: "num" }, money(payment.amount_cents || 0, payment.currency)));
      row.appendChild(el("td", { class: "num" }, payment.refunded_cents ? money(payment.refunded_cents, payment.currency) : "–"));
      row.appendChild(el("td", {}, STATUS[payment.status] || payment.status));
      var cell = row.appendChild(el("td"));
      // Only money taken has a receipt: a failed or unsettled attempt answers 404.
      if (payment.receipt_url && payment.status === "succeeded") {
        cell.appendChild(el("a", { href: payment.receipt_url }, "Receipt (PDF)"));
      }
      (payment.refunds || []).forEach(function (refund) { body.appendChild(refundRow(refund, payment.currency)); });
    });
    return wrap;
  }

  function refundRow(refund, currency) {
    var row = el("tr");
    row.appendChild(el("th", { scope: "row" }, ui.instantDate(refund.created_at)));
    row.appendChild(el("td", { class: "num" }, "–"));
    row.appendChild(el("td", { class: "num" }, money(refund.amount_cents || 0, currency)));
    row.appendChild(el("td", {}, refund.status === "succeeded" ? "Refund" : "Refund pending"));
    var cell = row.appendChild(el("td"));
    if (refund.receipt_url) cell.appendChild(el("a", { href: refund.receipt_url }, "Refund receipt (PDF)"));
    return row;
  }

  if (payments) {
    var status = payments.querySelector("[data-payments-status]");
    fetch(payments.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (body) {
        var rows = body.payments || [];
        if (!rows.length) {
          status.textContent = "No payments yet. When you pay for a treatment, its receipt appears here.";
          return;
        }
        status.replaceWith(paymentsTable(rows));
      })
      .catch(function () {
        status.textContent = "We could not load your payments just now. Please try again later, or ask us for a receipt.";
      });
  }
})();
