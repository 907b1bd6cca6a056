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
from reviewapp.labeling.results import (
    IncompleteResult,
    ResultError,
    check_complete,
    validate_result,
)

__all__ = [
    "PRESETS",
    "Control",
    "IncompleteResult",
    "LabelConfig",
    "LabelConfigError",
    "ObjectTag",
    "ResultError",
    "check_complete",
    "parse_label_config",
    "validate_result",
]
