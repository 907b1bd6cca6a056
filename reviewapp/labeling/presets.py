"""Starting label configs offered when a project is created."""

TEXT_CLASSIFICATION = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text" choice="single">
    <Choice value="Positive"/>
    <Choice value="Negative"/>
    <Choice value="Neutral"/>
  </Choices>
</View>"""

NAMED_ENTITIES = """<View>
  <Labels name="label" toName="text">
    <Label value="PER"/>
    <Label value="ORG"/>
    <Label value="LOC"/>
    <Label value="MISC"/>
  </Labels>
  <Text name="text" value="$text"/>
</View>"""

IMAGE_BOXES = """<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="label" toName="image">
    <Label value="Circle"/>
    <Label value="Square"/>
    <Label value="Triangle"/>
  </RectangleLabels>
</View>"""

# key -> (title shown in the form, XML)
PRESETS: dict[str, tuple[str, str]] = {
    "text_classification": ("Text classification", TEXT_CLASSIFICATION),
    "named_entities": ("Named entities", NAMED_ENTITIES),
    "image_boxes": ("Image bounding boxes", IMAGE_BOXES),
}
