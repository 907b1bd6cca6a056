// The annotation editor (macros/editor.html): keyboard shortcuts and the lead time.
// Number keys click the option with that data-key (a choice, or a label in spans.js /
// boxes.js); Ctrl+Enter submits; Esc and Delete are passed to the region editors as
// "editor:escape" / "editor:delete" events. Without this script the form still submits.
(function () {
  "use strict";
  if (window.reviewEditor) return; // already listening (the page was swapped in again)
  window.reviewEditor = true;

  function mount(root) {
    const found = Array.from(root.querySelectorAll("[data-editor]:not([data-ready])"));
    if (root.matches && root.matches("[data-editor]:not([data-ready])")) found.push(root);
    found.forEach(function (editor) {
      editor.dataset.ready = "";
      editor.dataset.shownAt = String(performance.now());
      editor.querySelectorAll("[data-shortcuts]").forEach((line) => (line.hidden = false));
    });
  }

  // The editor the keys act on: the visible one (Fix & Accept keeps its editor folded away).
  function activeEditor() {
    return Array.from(document.querySelectorAll("[data-editor]")).find(function (editor) {
      return editor.checkVisibility ? editor.checkVisibility() : editor.offsetParent !== null;
    });
  }

  function isTyping(target) {
    return target.closest && target.closest("textarea, select, input:not([type=radio]):not([type=checkbox]), [contenteditable]");
  }

  function tellRegions(editor, name) {
    editor.querySelectorAll("[data-spans], [data-boxes], [data-polygons], [data-keypoints]").forEach(function (region) {
      region.dispatchEvent(new CustomEvent(name));
    });
  }

  document.addEventListener("keydown", function (event) {
    // A comment thread's fields are not the editor's: Ctrl+Enter there must not submit it.
    if (event.target.closest && event.target.closest(".comments")) return;
    const editor = activeEditor();
    if (!editor) return;
    const form = editor.closest("form");
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      if (form) form.requestSubmit(form.querySelector("[data-submit]") || undefined);
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Escape") {
      tellRegions(editor, "editor:escape");
      if (document.activeElement && editor.contains(document.activeElement)) document.activeElement.blur();
      return;
    }
    if (isTyping(event.target)) return;
    if (event.key === "Delete" || event.key === "Backspace") {
      tellRegions(editor, "editor:delete");
    } else if (/^[0-9]$/.test(event.key)) {
      const option = editor.querySelector('[data-key="' + event.key + '"]');
      if (option) {
        event.preventDefault();
        option.click();
      }
    }
  });

  // Capture phase: the lead time is in the form before htmx (or the browser) reads it.
  document.addEventListener("submit", function (event) {
    const editor = event.target.querySelector("[data-editor][data-shown-at]");
    const field = event.target.querySelector("[data-lead-time]");
    if (editor && field) {
      field.value = ((performance.now() - Number(editor.dataset.shownAt)) / 1000).toFixed(1);
    }
  }, true);

  document.addEventListener("htmx:load", function (event) { mount(event.target); });
  mount(document);
})();
