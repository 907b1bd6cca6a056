"""Label Studio label configs and results: parsing, validation, region geometry.

Pure Python (no Flask import) so that services, the CLI and tests share it.
"""

from reviewapp.labeling.config import (
    Control,
    LabelConfig,
    LabelConfigError,
    ObjectTag,
    parse_label_config,
)
from reviewapp.labeling.presets import PRESETS
from reviewapp.labeling.results import ResultError, validate_result

__all__ = [
    "PRESETS",
    "Control",
    "LabelConfig",
    "LabelConfigError",
    "ObjectTag",
    "ResultError",
    "parse_label_config",
    "validate_result",
]
