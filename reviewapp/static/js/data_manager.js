// Data Manager selection: tick rows, the page, or all matching; keep the count and the
// Review button's label in step; Cancel closes a bulk confirmation. The server does the
// rest; without this script the checkboxes still submit with the form.
(function () {
  "use strict";
  // Boosted navigation may load this file again; listen once.
  if (window.reviewapp_dataManager) return;
  window.reviewapp_dataManager = true;

  function update(form) {
    const rows = form.querySelectorAll('input[name="ids"]');
    const ticked = form.querySelectorAll('input[name="ids"]:checked').length;
    const all = form.querySelector("[data-all-matching]");
    const totalNode = form.querySelector("[data-total]");
    const total = totalNode ? parseInt(totalNode.dataset.total, 10) : 0;
    const count = all && all.checked ? total - (rows.length - ticked) : ticked;
    const label = form.querySelector("[data-selected-count]");
    if (label) {
      label.textContent = count === 0 ? "No task selected" : count.toLocaleString() + (count === 1 ? " task selected" : " tasks selected");
    }
    const review = form.querySelector("[data-review-button]");
    if (review) {
      review.textContent = count === 0 ? "Review all tasks" : "Review " + count.toLocaleString() + (count === 1 ? " task" : " tasks");
    }
    const page = form.querySelector("[data-select-page]");
    if (page) {
      page.checked = rows.length > 0 && ticked === rows.length;
      page.indeterminate = ticked > 0 && ticked < rows.length;
    }
  }

  document.addEventListener("change", function (event) {
    const form = event.target.closest("#bulk-form");
    if (!form) return;
    const target = event.target;
    if (target.matches("[data-select-page]") || target.matches("[data-all-matching]")) {
      form.querySelectorAll('input[name="ids"]').forEach(function (box) { box.checked = target.checked; });
    }
    update(form);
  });

  // A link with data-clear="#region" (the bulk confirmation's Cancel) empties that region
  // instead of following its href; without this script the href reloads the table.
  document.addEventListener("click", function (event) {
    const link = event.target.closest("[data-clear]");
    const region = link && document.querySelector(link.dataset.clear);
    if (!region) return;
    event.preventDefault();
    region.innerHTML = "";
  });

  document.addEventListener("htmx:afterSettle", function () {
    const form = document.getElementById("bulk-form");
    if (form) update(form);
  });
  function start() {
    const form = document.getElementById("bulk-form");
    if (form) update(form);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
