// Image boxes (RectangleLabels controls) with Annotorious: converts its rectangles (pixels of
// the image) to and from Label Studio results ({x, y, width, height} in percent, with
// original_width/height); regions.js does the rest.
(function () {
  "use strict";
  if (window.reviewBoxes) return; // already listening (the page was swapped in again)
  window.reviewBoxes = true;

  function mount(root, keep) {
    const image = root.querySelector(".image-frame img");
    root.querySelectorAll(".image-frame .box").forEach((box) => box.remove()); // the no-JS view
    const width = image.naturalWidth;
    const height = image.naturalHeight;
    const anno = Annotorious.createImageAnnotator(image, { drawingEnabled: true });
    keep(anno);
    window.reviewRegions(root, anno, {
      type: "rectanglelabels",
      tagParent: image.closest(".image-frame"),
      extra: { original_width: width, original_height: height, image_rotation: 0 },
      defaults: { rotation: 0 },
      toAnnotation(item) {
        const v = item.value;
        const x = (v.x / 100) * width;
        const y = (v.y / 100) * height;
        const w = (v.width / 100) * width;
        const h = (v.height / 100) * height;
        const bounds = { minX: x, minY: y, maxX: x + w, maxY: y + h };
        const selector = { type: "RECTANGLE", geometry: { x: x, y: y, w: w, h: h, bounds: bounds } };
        return { id: item.id, bodies: [], target: { annotation: item.id, selector: selector } };
      },
      // Percent of the image, clipped to it: a box dragged past the edge keeps its inside part.
      geometry(annotation) {
        const g = annotation.target.selector.geometry;
        const left = Math.max(0, g.x);
        const top = Math.max(0, g.y);
        const right = Math.min(width, g.x + g.w);
        const bottom = Math.min(height, g.y + g.h);
        return {
          x: (left / width) * 100,
          y: (top / height) * 100,
          width: (Math.max(0, right - left) / width) * 100,
          height: (Math.max(0, bottom - top) / height) * 100,
        };
      },
      isComplete: (item) => item.value.width > 0 && item.value.height > 0,
      style: (color, selected) => ({ stroke: color, strokeWidth: 2, fill: color, fillOpacity: selected ? 0.3 : 0.12 }),
      describe(item) {
        const v = item.value;
        const pct = (n) => n.toFixed(1);
        return "x " + pct(v.x) + "%, y " + pct(v.y) + "%, " + pct(v.width) + " × " + pct(v.height) + "%";
      },
      placeTag(item, tag) {
        tag.style.left = item.value.x + "%";
        tag.style.top = item.value.y + "%";
        return true;
      },
    });
  }

  function mountAll(root) {
    if (window.Annotorious) window.reviewRegions.mountImages(root, "[data-boxes]", mount);
  }
  document.addEventListener("htmx:load", (event) => mountAll(event.target));
  mountAll(document);
})();
