"""Parse the supported subset of Label Studio's XML label config."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as DefusedET
from defusedxml import DefusedXmlException

if TYPE_CHECKING:
    from reviewapp.labeling.value_tags import DateTimeSpec, NumberSpec, TaxonomySpec

OBJECT_TAGS = ("Text", "Image")
CONTROL_TAGS = (
    "Choices",
    "Labels",
    "RectangleLabels",
    "PolygonLabels",
    "KeyPointLabels",
    "Rating",
    "TextArea",
    "Number",
    "DateTime",
    "Taxonomy",
)

# Label Studio's result "type" for each control tag.
RESULT_TYPES = {
    "Choices": "choices",
    "Labels": "labels",
    "RectangleLabels": "rectanglelabels",
    "PolygonLabels": "polygonlabels",
    "KeyPointLabels": "keypointlabels",
    "Rating": "rating",
    "TextArea": "textarea",
    "Number": "number",
    "DateTime": "datetime",
    "Taxonomy": "taxonomy",
}

# Allowed anywhere and carrying no meaning for us; Choice/Label are read by their control.
LAYOUT_TAGS = ("View", "Header", "Style", "Collapse", "Filter", "Markdown", "Choice", "Label")

# Tag of the option children of each control that has options.
OPTION_TAGS = {
    "Choices": "Choice",
    "Labels": "Label",
    "RectangleLabels": "Label",
    "PolygonLabels": "Label",
    "KeyPointLabels": "Label",
}

# The object tag each region control can point at.
IMAGE_REGION_TAGS = ("RectangleLabels", "PolygonLabels", "KeyPointLabels")
REQUIRED_OBJECT = {"Labels": "Text", **dict.fromkeys(IMAGE_REGION_TAGS, "Image")}
# Controls whose result is a list of regions (spans, boxes, polygons, points) rather than
# one value.
REGION_TAGS = frozenset({"Labels", *IMAGE_REGION_TAGS})

CHOICE_MODES = {"single": False, "single-radio": False, "multiple": True}

_SUPPORTED = ", ".join(f"<{tag}>" for tag in OBJECT_TAGS + CONTROL_TAGS + LAYOUT_TAGS[:-2])
_INT = re.compile(r"[0-9]+")


class LabelConfigError(ValueError):
    """The label config is malformed or uses something we do not support."""


@dataclass(frozen=True)
class ObjectTag:
    name: str
    tag: str  # "Text" | "Image"
    value: str  # the task data field, "$text" -> "text"


@dataclass(frozen=True)
class Control:
    name: str
    tag: str  # one of CONTROL_TAGS
    to_name: str
    labels: tuple[str, ...] = ()  # choices / labels in config order
    multiple: bool = False  # Choices choice="multiple"
    max_rating: int = 5  # Rating maxRating
    required: bool = False  # required="true": a submitted annotation must answer it
    # Number, DateTime, Taxonomy: their attributes (labeling/value_tags.py); else None.
    spec: NumberSpec | DateTimeSpec | TaxonomySpec | None = None

    @property
    def result_type(self) -> str:
        return RESULT_TYPES[self.tag]

    @cached_property
    def label_set(self) -> frozenset[str]:
        """The labels as a set, for fast membership tests during bulk validation."""
        return frozenset(self.labels)


@dataclass(frozen=True)
class LabelConfig:
    objects: dict[str, ObjectTag] = field(default_factory=dict)
    controls: dict[str, Control] = field(default_factory=dict)

    def object_for(self, control: Control) -> ObjectTag:
        return self.objects[control.to_name]


@lru_cache(maxsize=128)
def parse_label_config(xml: str) -> LabelConfig:
    """Parse a Label Studio XML config; raise LabelConfigError naming what is wrong.

    Cached: every page of a project parses the same config; the result is never mutated.
    """
    if not isinstance(xml, str) or not xml.strip():
        raise LabelConfigError("Label config is empty")
    try:
        root = DefusedET.fromstring(xml, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise LabelConfigError(
            f"Label config may not use DTDs, entities or external references ({exc})"
        ) from None
    except ParseError as exc:
        raise LabelConfigError(f"Label config is not well-formed XML: {exc}") from None
    if root.tag != "View":
        raise LabelConfigError(f"Label config must have <View> as its root tag, not <{root.tag}>")

    objects: dict[str, ObjectTag] = {}
    controls: dict[str, Control] = {}
    tags_by_name: dict[str, str] = {}
    unsupported: dict[str, None] = {}
    literals: dict[str, str] = {}  # name -> the fixed text of <Text value="..."> without $
    for element in root.iter():
        tag = element.tag
        if tag in LAYOUT_TAGS:
            continue
        if _is_literal_text(element):
            literals[element.get("name", "")] = element.get("value", "")
            continue
        if tag in OBJECT_TAGS:
            obj = _parse_object(element)
            _claim_name(tags_by_name, obj.name, tag)
            objects[obj.name] = obj
        elif tag in CONTROL_TAGS:
            control = _parse_control(element)
            _claim_name(tags_by_name, control.name, tag)
            controls[control.name] = control
        else:
            unsupported[str(tag)] = None
    if unsupported:
        names = ", ".join(f"<{tag}>" for tag in unsupported)
        plural = "s" if len(unsupported) > 1 else ""
        raise LabelConfigError(f"Unsupported tag{plural} {names}; supported: {_SUPPORTED}")

    for control in controls.values():
        if control.to_name in literals and control.to_name not in objects:
            raise LabelConfigError(
                f'<{control.tag} name="{control.name}"> has toName="{control.to_name}", a fixed '
                f'text (value="{literals[control.to_name]}"); to label task data, give that '
                'tag a task field such as value="$text"'
            )
    if not objects:
        raise LabelConfigError(
            f"Label config has no object tag ({' or '.join(OBJECT_TAGS)}) to label"
        )
    if not controls:
        raise LabelConfigError(f"Label config has no control tag ({', '.join(CONTROL_TAGS)})")
    # Checked after the walk because a control may come before the object it points at.
    for control in controls.values():
        target = objects.get(control.to_name)
        if target is None:
            raise LabelConfigError(
                f'<{control.tag} name="{control.name}"> has toName="{control.to_name}", '
                f"which is not an object tag (objects: {', '.join(objects)})"
            )
        required = REQUIRED_OBJECT.get(control.tag)
        if required is not None and target.tag != required:
            raise LabelConfigError(
                f'<{control.tag} name="{control.name}"> works only on <{required}>, '
                f'but toName="{control.to_name}" is <{target.tag}>'
            )
    _one_image_tool(controls)
    return LabelConfig(objects=objects, controls=controls)


def _one_image_tool(controls: dict[str, Control]) -> None:
    """The image editor draws one kind of shape per image (Annotorious has one drawing
    tool at a time), so boxes, polygons and key points go on different images."""
    tags_on: dict[str, set[str]] = {}
    for control in controls.values():
        if control.tag in IMAGE_REGION_TAGS:
            tags_on.setdefault(control.to_name, set()).add(control.tag)
    for image, tags in tags_on.items():
        if len(tags) > 1:
            both = " and ".join(f"<{tag}>" for tag in IMAGE_REGION_TAGS if tag in tags)
            raise LabelConfigError(
                f'{both} point at the same image "{image}"; the editor draws one kind of '
                "region per image: put them on different images"
            )


def _claim_name(tags_by_name: dict[str, str], name: str, tag: str) -> None:
    if name in tags_by_name:
        raise LabelConfigError(
            f'Duplicate name "{name}": used by <{tags_by_name[name]}> and <{tag}>'
        )
    tags_by_name[name] = tag


def _required(element: Element, attribute: str, what: str) -> str:
    value = element.get(attribute)
    if value is None or not value.strip():
        raise LabelConfigError(f"{what} is missing the {attribute} attribute")
    return value


def _is_literal_text(element: Element) -> bool:
    """<Text value="Some literal"> (no $) shows a fixed text, as a heading would: nothing to
    label, so not an object."""
    value = element.get("value")
    return element.tag == "Text" and value is not None and not value.startswith("$")


def _parse_object(element: Element) -> ObjectTag:
    tag = element.tag
    name = _required(element, "name", f"<{tag}>")
    value = _required(element, "value", f'<{tag} name="{name}">')
    if not value.startswith("$") or len(value) < 2:
        raise LabelConfigError(
            f'<{tag} name="{name}"> has value="{value}"; expected a task field such as "$text"'
        )
    return ObjectTag(name=name, tag=tag, value=value[1:])


def _parse_control(element: Element) -> Control:
    tag = element.tag
    name = _required(element, "name", f"<{tag}>")
    what = f'<{tag} name="{name}">'
    to_name = _required(element, "toName", what)
    labels: tuple[str, ...] = ()
    multiple = False
    max_rating = 5
    required = _parse_bool(element, "required")
    if tag in OPTION_TAGS:
        labels = _parse_options(element, what)
    if tag == "Choices":
        mode = element.get("choice", "single")
        if mode not in CHOICE_MODES:
            raise LabelConfigError(
                f'{what} has choice="{mode}"; expected single, single-radio or multiple'
            )
        multiple = CHOICE_MODES[mode]
    elif tag == "Rating":
        raw = element.get("maxRating")
        if raw is not None:
            if not _INT.fullmatch(raw) or int(raw) < 2:
                raise LabelConfigError(f'{what} has maxRating="{raw}"; expected an integer >= 2')
            max_rating = int(raw)
    spec = None
    if tag in ("Number", "DateTime", "Taxonomy"):
        # Imported here: value_tags imports this module.
        from reviewapp.labeling.value_tags import parse_spec

        spec = parse_spec(element, what)
        if tag == "Taxonomy":
            labels = spec.labels  # every node's path, for the Data Manager's label filter
    return Control(
        name=name,
        tag=tag,
        to_name=to_name,
        labels=labels,
        multiple=multiple,
        max_rating=max_rating,
        required=required,
        spec=spec,
    )


def _parse_bool(element: Element, attribute: str) -> bool:
    """A boolean attribute such as required="true": "true" (any case) is true, anything else
    false; lenient, so that a config stored before we read the attribute still parses."""
    return (element.get(attribute) or "").strip().lower() == "true"


def _parse_options(element: Element, what: str) -> tuple[str, ...]:
    option_tag = OPTION_TAGS[element.tag]
    wrong_tag = "Label" if option_tag == "Choice" else "Choice"
    values: list[str] = []
    seen: set[str] = set()
    # iter() rather than direct children so options grouped in a nested <View> still count.
    for child in element.iter():
        if child.tag == wrong_tag:
            raise LabelConfigError(
                f'{what} contains <{wrong_tag}>; its options are <{option_tag} value="...">'
            )
        if child.tag != option_tag:
            continue
        value = _required(child, "value", f"<{option_tag}> in {what}")
        if value in seen:
            raise LabelConfigError(f'{what} has duplicate {option_tag.lower()} "{value}"')
        seen.add(value)
        values.append(value)
    if not values:
        raise LabelConfigError(f'{what} has no options; add <{option_tag} value="..."/> children')
    return tuple(values)
