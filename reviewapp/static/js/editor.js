// The annotation editor (macros/editor.html): keyboard shortcuts and the lead time.
// Number keys click the option with that data-key (a choice, or a label in spans.js /
// boxes.js); Ctrl+Enter submits; Esc and Delete are passed to the region editors as
// "editor:escape" / "editor:delete" events. Without this script the form still submits.
//
// Undo and redo (Ctrl+Z, Ctrl+Y or Ctrl+Shift+Z, and the two buttons) step through snapshots of
// the editor's fields: the choices, the text fields once changed, and the regions' hidden
// inputs, which regions.js rewrites after every edit ("regions:synced"). A drag is one step:
// nothing is recorded while a pointer is down. The first snapshot is taken once every region
// editor inside has mounted ("regions:ready"), so what the page started with is step 0.
(function () {
  "use strict";
  if (window.reviewEditor) return; // already listening (the page was swapped in again)
  window.reviewEditor = true;

  const REGION_EDITORS = "[data-spans], [data-boxes], [data-polygons], [data-keypoints]";
  const histories = new WeakMap(); // editor -> { states: [snapshot...], at: index shown }
  let pointerDown = false;

  function fields(editor) {
    return Array.from(editor.querySelectorAll("input[name], textarea[name], select[name]"));
  }

  function snapshot(editor) {
    return JSON.stringify(fields(editor).map((f) => (f.type === "radio" || f.type === "checkbox" ? f.checked : f.value)));
  }

  function restore(editor, state) {
    const values = JSON.parse(state);
    fields(editor).forEach(function (f, i) {
      if (f.type === "radio" || f.type === "checkbox") f.checked = values[i];
      else f.value = values[i];
    });
    tellRegions(editor, "editor:reload");
  }

  function showHistory(editor) {
    const history = histories.get(editor);
    const undo = editor.querySelector("[data-undo]");
    const redo = editor.querySelector("[data-redo]");
    if (!history || !undo) return;
    undo.disabled = history.at === 0;
    redo.disabled = history.at === history.states.length - 1;
  }

  function record(editor) {
    const history = histories.get(editor);
    if (!history || pointerDown) return;
    const now = snapshot(editor);
    if (now === history.states[history.at]) return;
    history.states.splice(history.at + 1);
    history.states.push(now);
    history.at = history.states.length - 1;
    showHistory(editor);
  }

  function step(editor, to) {
    const history = histories.get(editor);
    if (!history) return;
    record(editor); // a text field's edit not yet recorded becomes a step redo can return to
    if (to === "back") to = history.at - 1;
    else if (to === "forward") to = history.at + 1;
    if (to < 0 || to >= history.states.length || to === history.at) return;
    history.at = to;
    restore(editor, history.states[to]);
    showHistory(editor);
  }

  function startHistory(editor) {
    if (histories.has(editor)) return;
    if (Array.from(editor.querySelectorAll(REGION_EDITORS)).some((r) => !("regionsReady" in r.dataset))) return;
    histories.set(editor, { states: [snapshot(editor)], at: 0 });
    const line = editor.querySelector("[data-history]");
    if (line) line.hidden = false;
    showHistory(editor);
  }

  let pending = null;
  function recordSoon(editor) {
    if (!editor) return;
    clearTimeout(pending);
    pending = setTimeout(() => record(editor), 0);
  }

  function mount(root) {
    const found = Array.from(root.querySelectorAll("[data-editor]:not([data-ready])"));
    if (root.matches && root.matches("[data-editor]:not([data-ready])")) found.push(root);
    found.forEach(function (editor) {
      editor.dataset.ready = "";
      editor.dataset.shownAt = String(performance.now());
      editor.querySelectorAll("[data-shortcuts]").forEach((line) => (line.hidden = false));
      editor.addEventListener("change", () => record(editor));
      editor.addEventListener("regions:ready", () => startHistory(editor));
      editor.addEventListener("regions:synced", () => recordSoon(editor));
      editor.addEventListener("editor:reset", () => step(editor, 0));
      editor.addEventListener("click", function (event) {
        if (event.target.closest("[data-undo]")) step(editor, "back");
        else if (event.target.closest("[data-redo]")) step(editor, "forward");
      });
      startHistory(editor);
    });
  }

  document.addEventListener("pointerdown", () => (pointerDown = true), true);
  ["pointerup", "pointercancel"].forEach(function (name) {
    document.addEventListener(name, function () {
      pointerDown = false;
      recordSoon(activeEditor());
    }, true);
  });

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
    editor.querySelectorAll(REGION_EDITORS).forEach(function (region) {
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

  // Undo and redo keys, caught first (window, capture): the libraries have undo stacks of their
  // own on these keys, which know nothing of labels, choices or the hidden inputs.
  window.addEventListener("keydown", function (event) {
    const key = event.key.toLowerCase();
    if (!(event.ctrlKey || event.metaKey) || event.altKey || (key !== "z" && key !== "y")) return;
    if (isTyping(event.target) || (event.target.closest && event.target.closest(".comments"))) return;
    const editor = activeEditor();
    if (!editor || !histories.has(editor)) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    step(editor, key === "y" || event.shiftKey ? "forward" : "back");
  }, true);

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
