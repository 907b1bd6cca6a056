// What spans.js and boxes.js share: the regions of one object as Label Studio result items,
// kept in the hidden regions-<control> inputs of macros/editor.html, with the label picker,
// the region list and a label tag on each region. Each of those two files adapts one
// library; its `kind` converts between the library's annotations and the result items.
//
// Draw a region (with the picked label, or none yet); a label button or its number key
// labels the selected region and lets it go; Delete or × removes it; Esc deselects, and an
// unlabelled region is dropped when it is let go.
(function () {
  "use strict";
  if (window.reviewRegions) return; // already defined (the page was swapped in again)

  window.reviewRegions = function (root, anno, kind) {
    const inputs = Array.from(root.querySelectorAll("[data-regions]"));
    const buttons = Array.from(root.querySelectorAll("[data-picker] [data-label]"));
    const list = root.querySelector("[data-region-list]");
    const tags = document.createElement("div");
    tags.className = "region-tags";
    kind.tagParent.append(tags);
    const regions = new Map(); // annotation id -> Label Studio result item
    let active = null; // the picked label button
    let selected = null; // id of the selected region

    const labelsOf = (item) => item.value[kind.type];
    const buttonOf = (item) =>
      buttons.find((b) => b.dataset.control === item.from_name && b.dataset.label === labelsOf(item)[0]);
    const colorClass = (item) => (labelsOf(item).length && buttonOf(item) ? buttonOf(item).classList[1] : "unlabelled");
    const isDone = (item) => labelsOf(item).length > 0 && (!kind.isComplete || kind.isComplete(item));

    function color(id) {
      const item = regions.get(id);
      const button = item && labelsOf(item).length ? buttonOf(item) : null;
      return button ? getComputedStyle(button).getPropertyValue("--lbl").trim() : "#656d76";
    }

    // Geometry from the library (it changes while a region is drawn, moved or resized),
    // then each control's finished regions into its input, the list and the tags.
    function sync() {
      anno.getAnnotations().forEach(function (annotation) {
        const item = regions.get(annotation.id);
        if (item && moved(item.value, kind.geometry(annotation))) Object.assign(item.value, kind.geometry(annotation));
      });
      inputs.forEach(function (input) {
        const mine = Array.from(regions.values()).filter((item) => item.from_name === input.dataset.regions);
        input.value = JSON.stringify(mine.filter(isDone));
      });
      const items = Array.from(regions.values());
      if (kind.order) items.sort(kind.order);
      list.replaceChildren(...items.map(listItem));
      drawTags();
      root.dispatchEvent(new CustomEvent("regions:synced", { bubbles: true }));
    }

    // Percent to pixels and back is not exact: a region nobody moved keeps the numbers it came
    // with, so an untouched region is not a change (for undo, or in a fix's diff).
    function moved(value, geometry) {
      return Object.keys(geometry).some(function (key) {
        const now = geometry[key];
        return typeof now === "number" ? !(Math.abs(now - value[key]) < 1e-6) : now !== value[key];
      });
    }

    function drawTags() {
      tags.replaceChildren(...Array.from(regions.values()).filter((item) => labelsOf(item).length).flatMap(function (item) {
        const tag = document.createElement("span"); // no text: CSS shows data-label
        tag.className = "region-tag " + colorClass(item);
        tag.dataset.label = labelsOf(item).join(" + ");
        return kind.placeTag(item, tag) ? [tag] : [];
      }));
    }

    function listItem(item) {
      const li = document.createElement("li");
      li.className = colorClass(item) + (item.id === selected ? " selected" : "");
      const tag = document.createElement("button");
      tag.type = "button";
      tag.className = "tag";
      tag.textContent = labelsOf(item).join(" + ") || "pick a label";
      tag.addEventListener("click", () => anno.setSelected(item.id));
      const what = document.createElement("span");
      what.textContent = kind.describe(item);
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "secondary";
      remove.textContent = "×";
      remove.setAttribute("aria-label", "Remove " + what.textContent);
      remove.addEventListener("click", () => removeRegion(item.id));
      li.append(tag, what, remove);
      return li;
    }

    function removeRegion(id) {
      regions.delete(id);
      anno.removeAnnotation(id);
      if (selected === id) selected = null;
      sync();
    }

    function pick(button) {
      active = selected || button !== active ? button : null;
      buttons.forEach((b) => b.setAttribute("aria-pressed", String(b === active)));
      if (!selected) return;
      const item = regions.get(selected);
      item.from_name = button.dataset.control;
      item.value[kind.type] = [button.dataset.label];
      anno.setStyle(style); // redraws it in the label's colour
      anno.cancelSelected();
      sync();
    }

    function style(annotation, state) {
      return kind.style(color(annotation.id), Boolean(state && state.selected));
    }

    function load() {
      inputs.forEach(function (input) {
        JSON.parse(input.value || "[]").forEach(function (item) {
          item.id = item.id || crypto.randomUUID();
          regions.set(item.id, item);
        });
      });
      anno.setAnnotations(Array.from(regions.values()).map(kind.toAnnotation));
    }
    anno.setStyle(style);
    load();

    anno.on("createAnnotation", function (annotation) {
      const item = {
        id: annotation.id,
        from_name: active ? active.dataset.control : inputs[0].dataset.regions,
        to_name: inputs[0].dataset.toName,
        type: kind.type,
        origin: "manual",
        ...kind.extra,
        value: { ...kind.geometry(annotation), ...kind.defaults, [kind.type]: active ? [active.dataset.label] : [] },
      };
      regions.set(annotation.id, item);
      sync();
      // A region born with a label is done; one without waits, selected, for its label.
      if (active) setTimeout(() => anno.cancelSelected());
    });
    anno.on("deleteAnnotation", function (annotation) {
      regions.delete(annotation.id);
      sync();
    });
    anno.on("selectionChanged", function (annotations) {
      const previous = regions.get(selected);
      selected = annotations.length ? annotations[0].id : null;
      if (previous && previous.id !== selected && !labelsOf(previous).length) removeRegion(previous.id);
      else sync();
    });
    anno.state.store.observe(() => sync());

    buttons.forEach((button) => button.addEventListener("click", () => pick(button)));
    root.addEventListener("editor:escape", function () {
      if (selected) anno.cancelSelected();
      else if (active) pick(active);
    });
    root.addEventListener("editor:delete", function () {
      if (selected) removeRegion(selected);
    });
    // Undo or redo put other regions in the inputs (editor.js).
    root.addEventListener("editor:reload", function () {
      const wanted = inputs.map((input) => input.value);
      if (selected) anno.cancelSelected(); // this syncs: the inputs get the old regions back
      selected = null;
      regions.clear();
      inputs.forEach((input, i) => (input.value = wanted[i]));
      load();
      sync();
    });
    root.querySelector("[data-picker]").hidden = false;
    sync();
    root.dataset.regionsReady = "";
    root.dispatchEvent(new CustomEvent("regions:ready", { bubbles: true }));
    return { drawTags: drawTags };
  };

  // Mount every `selector` element under root once; forget it when htmx swaps it out.
  const mounted = new WeakMap(); // element -> the library's annotator
  window.reviewRegions.mountAll = function (root, selector, mount) {
    const found = Array.from(root.querySelectorAll(selector + ":not([data-ready])"));
    if (root.matches && root.matches(selector + ":not([data-ready])")) found.push(root);
    found.forEach(function (element) {
      element.dataset.ready = "";
      mount(element, (anno) => mounted.set(element, anno));
    });
  };
  // Mount the image region editors (boxes, polygons, key points) once their image has its
  // natural size: it turns percentages into pixels and goes into the results.
  window.reviewRegions.mountImages = function (root, selector, mount) {
    window.reviewRegions.mountAll(root, selector, function (element, keep) {
      const image = element.querySelector(".image-frame img");
      if (image.complete && image.naturalWidth) mount(element, keep);
      else image.addEventListener("load", () => mount(element, keep), { once: true });
    });
  };
  document.addEventListener("htmx:beforeCleanupElement", function (event) {
    const anno = mounted.get(event.target);
    if (anno) {
      mounted.delete(event.target);
      anno.destroy();
    }
  });
})();
