"""The scenario an app serves, looked up on every HTTP request and WebSocket message: the test panel's editor
swaps it (`server.panel`), and both route kinds answer from the new one at once."""

from __future__ import annotations

from dotmock.dsl.model import Scenario


class ScenarioHolder:
    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.disk_generation = 0

    def swap(self, scenario: Scenario) -> None:
        self.scenario = scenario

    def reload(self, scenario: Scenario) -> None:
        """The scenario's files changed on disk (`dotmock serve --watch`): swap, and count it, so the test
        panel's editor reads the files again."""
        self.disk_generation += 1
        self.swap(scenario)
