"""The README documents every setting and every command, and CI runs the README's test command."""

from __future__ import annotations

import re

from typer.main import get_command

from conftest import ROOT
from dailypapers.cli import app
from dailypapers.settings import Settings

README = (ROOT / "README.md").read_text()


def test_every_setting_is_documented():
    for name in Settings.model_fields:
        assert f"`DAILYPAPERS_{name.upper()}`" in README, name


def _commands(group, prefix=""):
    for name, command in group.commands.items():
        full = f"{prefix}{name}"
        if hasattr(command, "commands"):
            yield from _commands(command, full + " ")
        else:
            yield full


def test_every_command_is_documented():
    for command in _commands(get_command(app)):
        assert f"`dailypapers {command}" in README, command


def test_ci_runs_the_readme_test_command():
    match = re.search(r"Run the tests.*?```sh\n(.+?)\n```", README, re.S)
    assert match, "README has no test command block"
    commands = [line.split("#")[0].strip() for line in match.group(1).splitlines() if line.strip()]
    # CI runs each of them as it is written, maybe asking for the slowest tests' durations too.
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    run = {re.sub(r"\s+--durations=\d+", "", line).strip() for line in ci}
    assert commands and all(command in run for command in commands), (commands, run)
