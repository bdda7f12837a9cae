"""Loading `.mock` (and dotMock JSON) files into the model. (Being written: parser lands shortly.)"""

from __future__ import annotations

from dotmock.dsl.model import ScenarioFile


def load_text(text: str, path: str = "<text>") -> ScenarioFile:
    raise NotImplementedError("parser not written yet")


def load_file(path: str) -> ScenarioFile:
    raise NotImplementedError("parser not written yet")


def load_path(paths: list[str]) -> list[ScenarioFile]:
    raise NotImplementedError("parser not written yet")
