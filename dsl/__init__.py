"""The `.mock` language: text -> validated, immutable scenario model. Pure: no sockets, no clocks."""

from dotmock.dsl.errors import DslError, DslErrors
from dotmock.dsl.loader import load_file, load_path, load_text
from dotmock.dsl.model import Scenario, ScenarioFile

__all__ = ["DslError", "DslErrors", "Scenario", "ScenarioFile", "load_file", "load_path", "load_text"]
