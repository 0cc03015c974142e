// The batch page's progress bar, fed by the server: poll the batch's status (GET /api/v1/superbill-batches/ID, the
// browser session's cookie) until it has finished. Without JavaScript the page shows the stored progress on reload.
(function () {
  "use strict";
  var page = document.querySelector("[data-batch-page]");
  if (!page) { return; }
  var url = page.getAttribute("data-status-url");
  var bar = document.getElementById("batch-progress");
  var POLL_MS = 1000;

  function setCount(name, value) {
    var node = page.querySelector('[data-count="' + name + '"]');
    if (node) { node.textContent = String(value); }
  }

  function cell(text) {
    var td = document.createElement("td");
    td.textContent = text;
    return td;
  }

  function showItems(items) {
    var body = document.getElementById("batch-items");
    if (!body) { return; }
    var rows = items.map(function (item) {
      var row = document.createElement("tr");
      row.setAttribute("data-item-patient", item.patient_id);
      row.setAttribute("data-item-status", item.status);
      row.appendChild(cell(item.patient_name + " (id " + item.patient_id + ")"));
      row.appendChild(cell(item.status));
      row.appendChild(cell(item.superbill_number || item.reason || ""));
      return row;
    });
    body.replaceChildren.apply(body, rows);
  }

  function show(batch) {
    bar.max = batch.total || 1;
    bar.value = batch.total ? batch.done : 1;
    bar.textContent = batch.percent + "%";
    ["done", "total", "issued", "failed", "skipped"].forEach(function (name) { setCount(name, batch[name]); });
    var status = page.querySelector("[data-batch-status]");
    status.setAttribute("data-batch-status", batch.status);
    status.textContent = batch.status === "finished" ? "Finished." : "Running.";
    showItems(batch.items);
  }

  function poll() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
      .then(function (body) {
        show(body.batch);
        if (body.batch.status !== "finished") { window.setTimeout(poll, POLL_MS); }
      })
      .catch(function () { window.setTimeout(poll, POLL_MS * 5); });
  }

  if (page.querySelector("[data-batch-status]").getAttribute("data-batch-status") !== "finished") {
    window.setTimeout(poll, POLL_MS);
  }
})();
