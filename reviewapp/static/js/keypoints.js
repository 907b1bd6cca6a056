// Image key points (KeyPointLabels controls). Annotorious 3.8 has no point tool, so this file
// is a small point annotator of its own with the part of Annotorious' interface regions.js
// uses (annotations, selection, styles, the events and a store to observe), and the `kind`
// that converts its points to and from Label Studio results ({x, y, width} in percent).
//
// A click on the image adds a point (with the picked label, or selected until one is picked);
// a click on a point selects it; dragging a point moves it.
(function () {
  "use strict";
  if (window.reviewKeypoints) return; // already listening (the page was swapped in again)
  window.reviewKeypoints = true;

  // How far (in pixels) a press on the image may move and still be a click that adds a
  // point; a press on a point drags it at once, so it can be nudged by a pixel.
  const CLICK_SLOP = 4;

  function pointAnnotator(image) {
    const frame = image.closest(".image-frame");
    const points = new Map(); // id -> {annotation, dot}
    const handlers = { createAnnotation: [], deleteAnnotation: [], selectionChanged: [] };
    const observers = [];
    let style = () => ({});
    let selected = null;
    let pressed = null; // {id, x, y, moved} while the pointer is down

    const emit = (name, value) => handlers[name].forEach((handler) => handler(value));
    const changed = () => observers.forEach((observer) => observer());

    function percentAt(event) {
      const rect = image.getBoundingClientRect();
      const clamp = (n) => Math.min(100, Math.max(0, n));
      return { x: clamp(((event.clientX - rect.left) / rect.width) * 100), y: clamp(((event.clientY - rect.top) / rect.height) * 100) };
    }

    function paint(id) {
      const point = points.get(id);
      const look = style(point.annotation, { selected: id === selected });
      point.dot.style.left = point.annotation.target.selector.x + "%";
      point.dot.style.top = point.annotation.target.selector.y + "%";
      point.dot.style.background = look.fill || "";
      point.dot.style.boxShadow = "0 0 0 " + (id === selected ? 3 : 1) + "px " + (look.stroke || "#656d76");
      point.dot.classList.toggle("selected", id === selected);
    }

    function add(annotation) {
      const dot = document.createElement("span");
      dot.className = "keypoint keypoint-editable";
      dot.dataset.pointId = annotation.id;
      frame.append(dot);
      points.set(annotation.id, { annotation: annotation, dot: dot });
      paint(annotation.id);
    }

    function select(id) {
      const previous = selected;
      selected = id;
      if (previous && points.has(previous)) paint(previous);
      if (id && points.has(id)) paint(id);
      emit("selectionChanged", id && points.has(id) ? [points.get(id).annotation] : []);
    }

    function onDown(event) {
      if (event.button !== 0) return;
      const dot = event.target.closest("[data-point-id]");
      pressed = { id: dot ? dot.dataset.pointId : null, x: event.clientX, y: event.clientY, moved: false };
      if (dot) {
        event.preventDefault();
        frame.setPointerCapture(event.pointerId);
      }
    }

    function onMove(event) {
      if (!pressed || !pressed.id) return;
      if (event.clientX === pressed.x && event.clientY === pressed.y && !pressed.moved) return;
      pressed.moved = true;
      const point = points.get(pressed.id);
      Object.assign(point.annotation.target.selector, percentAt(event));
      paint(pressed.id);
      changed();
    }

    function onUp(event) {
      if (!pressed) return;
      const press = pressed;
      pressed = null;
      if (press.id) {
        if (!press.moved) select(press.id);
        return;
      }
      if (Math.hypot(event.clientX - press.x, event.clientY - press.y) >= CLICK_SLOP) return;
      const annotation = { id: crypto.randomUUID(), bodies: [], target: { selector: percentAt(event) } };
      annotation.target.annotation = annotation.id;
      add(annotation);
      emit("createAnnotation", annotation);
      select(annotation.id);
    }

    frame.addEventListener("pointerdown", onDown);
    frame.addEventListener("pointermove", onMove);
    frame.addEventListener("pointerup", onUp);
    image.draggable = false;

    return {
      getAnnotations: () => Array.from(points.values()).map((point) => point.annotation),
      setAnnotations(list) {
        points.forEach((point) => point.dot.remove());
        points.clear();
        list.forEach(add);
      },
      setStyle(fn) {
        style = fn;
        points.forEach((_, id) => paint(id));
      },
      setSelected: (id) => select(id),
      cancelSelected() {
        if (selected) select(null);
      },
      removeAnnotation(id) {
        const point = points.get(id);
        if (!point) return;
        point.dot.remove();
        points.delete(id);
        if (selected === id) selected = null;
        emit("deleteAnnotation", point.annotation);
      },
      on: (name, handler) => handlers[name].push(handler),
      state: { store: { observe: (observer) => observers.push(observer) } },
      destroy() {
        frame.removeEventListener("pointerdown", onDown);
        frame.removeEventListener("pointermove", onMove);
        frame.removeEventListener("pointerup", onUp);
        points.forEach((point) => point.dot.remove());
      },
    };
  }

  function mount(root, keep) {
    const image = root.querySelector(".image-frame img");
    root.querySelectorAll(".image-frame .keypoint").forEach((dot) => dot.remove()); // the no-JS view
    const anno = pointAnnotator(image);
    keep(anno);
    const round = (n) => Math.round(n * 100) / 100;
    window.reviewRegions(root, anno, {
      type: "keypointlabels",
      tagParent: image.closest(".image-frame"),
      extra: { original_width: image.naturalWidth, original_height: image.naturalHeight, image_rotation: 0 },
      defaults: { width: 1 }, // Label Studio's default dot size, in percent of the image width
      toAnnotation(item) {
        const selector = { x: item.value.x, y: item.value.y };
        return { id: item.id, bodies: [], target: { annotation: item.id, selector: selector } };
      },
      geometry(annotation) {
        const at = annotation.target.selector;
        return { x: round(at.x), y: round(at.y) };
      },
      style: (color, selected) => ({ stroke: selected ? "#1f2328" : color, fill: color }),
      describe: (item) => "point at " + item.value.x.toFixed(1) + "%, " + item.value.y.toFixed(1) + "%",
      placeTag(item, tag) {
        tag.style.left = item.value.x + "%";
        tag.style.top = item.value.y + "%";
        return true;
      },
    });
  }

  function mountAll(root) {
    window.reviewRegions.mountImages(root, "[data-keypoints]", mount);
  }
  document.addEventListener("htmx:load", (event) => mountAll(event.target));
  mountAll(document);
})();
