/*
 * The card form (templates/billing/_card_form.html) of the pay step (/account/pay/...) and the induction package
 * (/account/package): the card is typed into Stripe's own card field (Stripe.js Elements; the
 * stand-in localstripe serves in development). A flow that works on real Stripe and the emulator alike:
 *  1. POST /api/v1/setup-intents -> client_secret; stripe.confirmCardSetup(...) -> a PaymentMethod (pm_...);
 *  2. POST the page's pay URL {payment_method}; the server creates and confirms the PaymentIntent;
 *  3. on next_action (3-D Secure) stripe.confirmCardPayment(client_secret), then GET /api/v1/payments/ID,
 *     which settles the payment from Stripe (the webhook would too: whichever comes first).
 */
(function () {
  "use strict";

  var form = document.querySelector("[data-pay-form]");
  if (!form || typeof window.Stripe !== "function") return;
  var stripe = window.Stripe(form.dataset.key);
  var card = stripe.elements().create("card");
  card.mount(form.querySelector("[data-card-element]"));
  var submit = form.querySelector("[data-submit]");
  var label = submit.textContent;
  var errorBox = form.querySelector("[data-pay-error]");
  var statusBox = document.querySelector("[data-pay-status]");
  var OFFLINE = "We could not reach the clinic. Please check your connection and try again.";
  submit.disabled = false;

  function api(method, url, body) {
    return fetch(url, {
      method: method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json",
        "X-CSRFToken": window.ClinicUI.csrfToken() },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (payload) {
        if (!response.ok) throw (payload.error || { message: OFFLINE });
        return payload;
      });
    });
  }

  function fail(error) {
    submit.disabled = false;
    submit.textContent = label;
    statusBox.textContent = "";
    errorBox.textContent = (error && error.message) || OFFLINE;
  }

  function finish(payment) {
    if (payment.status !== "succeeded") {
      fail({ message: "Your payment was not completed. Please try again or use another card." });
      return;
    }
    form.hidden = true;
    document.querySelectorAll("[data-held-list] [data-status]").forEach(function (node) {
      node.textContent = "confirmed";
    });
    var hold = document.querySelector("[data-hold]");
    if (hold) hold.hidden = true;
    statusBox.textContent = form.dataset.success;
    statusBox.focus();
  }

  function paid(result) {
    if (!result.next_action) return finish(result.payment);
    statusBox.textContent = "Your bank asks you to confirm this payment…";
    return stripe.confirmCardPayment(result.next_action.client_secret).then(function (outcome) {
      if (outcome.error) throw { message: "Your bank did not confirm the payment. Please try again or use another card." };
      return api("GET", "/api/v1/payments/" + result.payment.id).then(function (body) { finish(body.payment); });
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    errorBox.textContent = "";
    submit.disabled = true;
    submit.textContent = "Paying…";
    statusBox.textContent = "Checking your card…";
    api("POST", form.dataset.setupUrl, {}).then(function (setup) {
      return stripe.confirmCardSetup(setup.client_secret, { payment_method: { card: card } });
    }).then(function (outcome) {
      if (outcome.error) throw { message: "Please check your card details: " + (outcome.error.message || "they were not accepted.") };
      return api("POST", form.dataset.payUrl, { payment_method: outcome.setupIntent.payment_method });
    }).then(paid).catch(fail);
  });
})();
