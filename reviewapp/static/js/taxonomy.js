// The Taxonomy tree of the editor (macros/editor.html _taxonomy): reveals the filter box
// and, as one types, shows only the nodes whose path contains the text (with their
// ancestors, opened). The tree itself is plain <details>/<ul> with checkboxes, so without
// this script everything can still be ticked and submitted. (A click on a <label> inside
// <summary> ticks its box without folding the branch; the marker folds it.)
(function () {
  "use strict";
  if (window.reviewTaxonomy) return; // already listening (the page was swapped in again)
  window.reviewTaxonomy = true;

  function filter(tree, query) {
    const wanted = query.trim().toLowerCase();
    let shown = 0;
    // Deepest first, so that a parent knows whether one of its children is shown.
    const items = Array.from(tree.querySelectorAll("li[data-taxon]")).reverse();
    items.forEach(function (item) {
      const own = item.dataset.taxon.toLowerCase().includes(wanted);
      const child = item.querySelector(":scope > details > ul > li:not([hidden])");
      item.hidden = Boolean(wanted) && !own && !child;
      if (wanted && child) item.querySelector(":scope > details").open = true;
      if (!item.hidden) shown += 1;
    });
    const empty = tree.querySelector("[data-taxonomy-empty]");
    if (empty) empty.hidden = shown > 0;
  }

  function mount(root) {
    const found = Array.from(root.querySelectorAll("[data-taxonomy]:not([data-ready])"));
    if (root.matches && root.matches("[data-taxonomy]:not([data-ready])")) found.push(root);
    found.forEach(function (tree) {
      tree.dataset.ready = "";
      const box = tree.querySelector("[data-taxonomy-filter]");
      if (!box) return;
      box.hidden = false;
      box.addEventListener("input", function () { filter(tree, box.value); });
      // Enter in the filter box would submit the annotation.
      box.addEventListener("keydown", function (event) {
        if (event.key === "Enter") event.preventDefault();
      });
    });
  }

  document.addEventListener("htmx:load", function (event) { mount(event.target); });
  mount(document);
})();
