// Data Manager selection: tick rows, the page, or all matching; keep the count, the
// Review button's label and the bulk actions (disabled until a task is selected, then
// "Delete tasks (3)") in step; Cancel closes a bulk confirmation; the compact/comfortable
// toggle, remembered in localStorage; the sticky header's offset under the bulk bar; the
// searchable people pickers of the bulk bar. The
// server does the rest; without this script the checkboxes still submit with the form.
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
    form.querySelectorAll("[data-bulk-action]").forEach(function (button) {
      // htmx disables the button that is posting (hx-disabled-elt) and enables it again when
      // the answer arrives; the refreshed table then has no selection, and this runs after.
      if (button.hasAttribute("data-disabled-by-htmx")) return;
      button.disabled = count === 0;
      const counter = button.querySelector("[data-count]");
      if (counter) counter.textContent = count === 0 ? "" : " (" + count.toLocaleString() + ")";
    });
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

  // Enter in the bulk bar's comment field would submit the form with its first button
  // (Review); the comment is sent with the Reject button instead.
  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && event.target.closest("[data-no-enter]")) event.preventDefault();
  });

  // People pickers (tasks/_people_picker.html): the search box narrows the list, the
  // summary names the picked people, sorted, as chips.
  document.addEventListener("input", function (event) {
    if (!event.target.matches("[data-people-search]")) return;
    const words = event.target.value.trim().toLowerCase();
    const menu = event.target.closest("[data-people-picker]");
    menu.querySelectorAll("[data-person]").forEach(function (label) {
      label.hidden = words !== "" && !label.dataset.person.includes(words);
    });
  });

  function showPicked(picker) {
    const names = Array.from(picker.querySelectorAll("input[type=checkbox]:checked"))
      .map(function (box) { return box.dataset.name; })
      .sort(function (a, b) { return a.localeCompare(b); });
    const picked = picker.querySelector("[data-picked]");
    picked.replaceChildren();
    if (!names.length) {
      picked.textContent = picker.dataset.peoplePicker === "annotators" ? "everyone" : "none";
      return;
    }
    names.forEach(function (name) {
      const chip = document.createElement("span");
      chip.className = "person chip";
      chip.textContent = name;
      picked.appendChild(chip);
    });
  }

  document.addEventListener("change", function (event) {
    const picker = event.target.closest("[data-people-picker]");
    if (picker) showPicked(picker);
  });

  // Enter in a picker's search box ticks the one person left, instead of submitting.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || !event.target.matches("[data-people-search]")) return;
    event.preventDefault();
    const shown = Array.from(event.target.closest("[data-people-picker]").querySelectorAll("[data-person]"))
      .filter(function (label) { return !label.hidden; });
    if (shown.length === 1) shown[0].querySelector("input").click();
  });

  // A click outside an open picker closes it, as a select's list would.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("[data-people-picker][open]").forEach(function (picker) {
      if (!picker.contains(event.target)) picker.open = false;
    });
  });

  const DENSITY_KEY = "reviewapp.dataManager.density";

  function storedDensity() {
    try {
      return window.localStorage.getItem(DENSITY_KEY) === "comfortable" ? "comfortable" : "compact";
    } catch (error) {
      return "compact";
    }
  }

  function applyDensity(density) {
    document.querySelectorAll("[data-density-table]").forEach(function (table) {
      table.classList.toggle("compact", density === "compact");
      table.classList.toggle("comfortable", density === "comfortable");
    });
    document.querySelectorAll("[data-density-toggle]").forEach(function (button) {
      button.hidden = false;
      button.setAttribute("aria-pressed", density === "compact" ? "true" : "false");
    });
  }

  document.addEventListener("click", function (event) {
    const toggle = event.target.closest("[data-density-toggle]");
    if (!toggle) return;
    const density = toggle.getAttribute("aria-pressed") === "true" ? "comfortable" : "compact";
    try {
      window.localStorage.setItem(DENSITY_KEY, density);
    } catch (error) {
      // Storage refused (private mode): the toggle still works for this page.
    }
    applyDensity(density);
  });

  // The header sticks just below the sticky bulk bar, whose height depends on the width.
  let observed = null;
  function stickHeader(form) {
    const bar = form.querySelector("#bulk-bar");
    if (!bar || bar === observed) return;
    observed = bar;
    const set = function () { form.style.setProperty("--dm-sticky-top", bar.offsetHeight + "px"); };
    set();
    if (window.ResizeObserver) new ResizeObserver(set).observe(bar);
  }

  // Before the settle, so a swapped-in table never shows the other density.
  document.addEventListener("htmx:afterSwap", function () {
    applyDensity(storedDensity());
  });
  document.addEventListener("htmx:afterSettle", function () {
    start();
  });
  function start() {
    applyDensity(storedDensity());
    const form = document.getElementById("bulk-form");
    if (!form) return;
    stickHeader(form);
    update(form);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
