// Image polygons (PolygonLabels controls) with Annotorious' polygon tool: converts its polygons
// (points in pixels of the image) to and from Label Studio results ({points: [[x, y], ...]} in
// percent, with original_width/height); regions.js does the rest.
//
// Drawing: click each corner, then click the first corner again (or double-click) to close.
// A selected polygon shows its corners as handles to drag.
(function () {
  "use strict";
  if (window.reviewPolygons) return; // already listening (the page was swapped in again)
  window.reviewPolygons = true;

  function mount(root, keep) {
    const image = root.querySelector(".image-frame img");
    root.querySelectorAll(".image-frame .polygons, .image-frame .polygon-label").forEach((el) => el.remove()); // the no-JS view
    const width = image.naturalWidth;
    const height = image.naturalHeight;
    // Click mode: a click adds a corner (drag mode would start the polygon with a drag).
    const anno = Annotorious.createImageAnnotator(image, { drawingEnabled: true, drawingMode: "click" });
    anno.setDrawingTool("polygon");
    keep(anno);
    const clamp = (n, max) => Math.min(max, Math.max(0, n));
    window.reviewRegions(root, anno, {
      type: "polygonlabels",
      tagParent: image.closest(".image-frame"),
      extra: { original_width: width, original_height: height, image_rotation: 0 },
      defaults: { closed: true },
      toAnnotation(item) {
        const points = item.value.points.map((p) => [(p[0] / 100) * width, (p[1] / 100) * height]);
        const xs = points.map((p) => p[0]);
        const ys = points.map((p) => p[1]);
        const bounds = { minX: Math.min(...xs), minY: Math.min(...ys), maxX: Math.max(...xs), maxY: Math.max(...ys) };
        const selector = { type: "POLYGON", geometry: { points: points, bounds: bounds } };
        return { id: item.id, bodies: [], target: { annotation: item.id, selector: selector } };
      },
      // Percent of the image; a corner dragged past the edge stays on it.
      geometry(annotation) {
        const points = annotation.target.selector.geometry.points || [];
        return { points: points.map((p) => [(clamp(p[0], width) / width) * 100, (clamp(p[1], height) / height) * 100]) };
      },
      isComplete: (item) => item.value.points.length >= 3,
      style: (color, selected) => ({ stroke: color, strokeWidth: 2, fill: color, fillOpacity: selected ? 0.3 : 0.12 }),
      describe: (item) => "polygon of " + item.value.points.length + " points",
      placeTag(item, tag) {
        const first = item.value.points[0];
        if (!first) return false;
        tag.style.left = first[0] + "%";
        tag.style.top = first[1] + "%";
        return true;
      },
    });
  }

  function mountAll(root) {
    if (window.Annotorious) window.reviewRegions.mountImages(root, "[data-polygons]", mount);
  }
  document.addEventListener("htmx:load", (event) => mountAll(event.target));
  mountAll(document);
})();
