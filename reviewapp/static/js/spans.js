// Text spans (Labels controls) with @recogito/text-annotator: converts its annotations to and
// from Label Studio results ({start, end, text, labels}); regions.js does the rest.
(function () {
  "use strict";
  if (window.reviewSpans) return; // already listening (the page was swapped in again)
  window.reviewSpans = true;
  // The library's UMD build still reads process.env.NODE_ENV (from nanostores).
  globalThis.process = globalThis.process || { env: { NODE_ENV: "production" } };

  // Python counts offsets in code points, the DOM in UTF-16 units: they differ after an emoji.
  function offsets(text) {
    if (!/[\uD800-\uDFFF]/.test(text)) return { toPoints: (i) => i, toUnits: (i) => i };
    return {
      toPoints: (i) => Array.from(text.slice(0, i)).length,
      toUnits: (i) => Array.from(text).slice(0, i).join("").length,
    };
  }

  function mount(root, keep) {
    const container = root.querySelector("[data-text]");
    const text = container.textContent; // the server's marks carry their labels in CSS only
    container.textContent = text;
    const units = offsets(text);
    const anno = RecogitoJS.createTextAnnotator(container);
    keep(anno);
    const regions = window.reviewRegions(root, anno, {
      type: "labels",
      tagParent: container, // tags hold no text, so the offsets the library counts stay right
      toAnnotation(item) {
        const start = units.toUnits(item.value.start);
        const end = units.toUnits(item.value.end);
        const selector = { quote: text.slice(start, end), start: start, end: end };
        return { id: item.id, bodies: [], target: { annotation: item.id, selector: [selector] } };
      },
      geometry(annotation) {
        const selector = annotation.target.selector[0];
        if (!selector) return {};
        const start = selector.start;
        const end = selector.end;
        return { start: units.toPoints(start), end: units.toPoints(end), text: text.slice(start, end) };
      },
      style: (color, selected) => ({ fill: color, fillOpacity: selected ? 0.45 : 0.22, underlineColor: color, underlineThickness: 2 }),
      describe: (item) => "“" + item.value.text + "”",
      order: (a, b) => a.value.start - b.value.start,
      placeTag(item, tag) {
        const rect = anno.state.store.getAnnotationRects(item.id)[0];
        if (!rect) return false;
        tag.style.left = rect.x + "px";
        tag.style.top = rect.y + "px";
        return true;
      },
    });
    anno.state.store.onRecalculatePositions(regions.drawTags); // the text reflowed
  }

  function mountAll(root) {
    if (window.RecogitoJS) window.reviewRegions.mountAll(root, "[data-spans]", mount);
  }
  document.addEventListener("htmx:load", (event) => mountAll(event.target));
  mountAll(document);
})();
