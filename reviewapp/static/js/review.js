// Review stream keys: a accept, f fix, r reject, a reject action's own key (x remove, b return,
// n reassign) picks it and starts a reject, 1-9 pick a reject reason, left/right between tabs.
// Keys typed into a field are left alone, and so is every key while Fix & Accept is open: its
// editor's keys (number keys pick labels) take over until it is saved or cancelled.
(function () {
  "use strict";
  // Boosted navigation may load this file again; listen once.
  if (window.reviewapp_reviewKeys) return;
  window.reviewapp_reviewKeys = true;

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest("input, textarea, select, [contenteditable]")) return;
    const item = document.querySelector(".review-item");
    if (!item) return;
    const fix = item.querySelector("[data-fix]");
    if (fix && fix.open) return;
    if (event.key === "a") {
      item.querySelector('button[data-key="a"]').click();
    } else if (event.key === "f") {
      openFix(fix);
    } else if (event.key === "r") {
      event.preventDefault();
      item.querySelector("[data-reject-comment]").focus();
    } else if (item.querySelector('.reject-actions input[data-key="' + event.key + '"]')) {
      item.querySelector('.reject-actions input[data-key="' + event.key + '"]').checked = true;
      item.querySelector("[data-reject-comment]").focus();
    } else if (/^[1-9]$/.test(event.key) && item.querySelector("[data-reject-reason]")) {
      const select = item.querySelector("[data-reject-reason]");
      if (Number(event.key) >= select.options.length) return;
      select.selectedIndex = Number(event.key);
      item.querySelector("[data-reject-comment]").focus();
    } else if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
      const tabs = Array.from(item.querySelectorAll("[data-review-tabs] > .tab-radio"));
      const current = tabs.findIndex(function (tab) { return tab.checked; });
      const next = tabs[(current + (event.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
      if (next) next.checked = true;
    } else {
      return;
    }
    event.preventDefault();
  });

  function openFix(fix) {
    fix.open = true;
    fix.scrollIntoView({ block: "start" });
  }

  document.addEventListener("click", function (event) {
    const open = event.target.closest("[data-open-fix]");
    const close = event.target.closest("[data-close-fix]");
    if (!open && !close) return;
    const fix = event.target.closest(".review-item").querySelector("[data-fix]");
    event.preventDefault();
    if (open) return openFix(fix);
    // Cancel drops the edits: the editor goes back to the annotation as submitted.
    fix.open = false;
    const editor = fix.querySelector("[data-editor]");
    if (editor) editor.dispatchEvent(new CustomEvent("editor:reset"));
  });
})();
