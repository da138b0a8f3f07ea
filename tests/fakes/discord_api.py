"""The Discord fake under the name tests import it by; it lives in `tests.fakes.discord`, split by
concern."""

from tests.fakes.discord import *  # noqa: F403
from tests.fakes.discord import __all__ as __all__
