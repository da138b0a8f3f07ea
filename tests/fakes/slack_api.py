"""The Slack fake and its payload helpers under the name tests and benchmarks import them by;
they live in `tests.fakes.slack`, split by concern."""

from tests.fakes.slack import *  # noqa: F403
from tests.fakes.slack import __all__ as __all__
