"""The `smppkit` command's own surface: --version, and help texts that describe each
sub-command and show every default."""

from __future__ import annotations

import argparse

import pytest

from smppkit import __version__, cli
from smppkit.simulator import BUILTIN_SCENARIOS


def _parsers() -> dict[str, argparse.ArgumentParser]:
    """Every (sub-)parser by its command line, e.g. "smppkit kannel run"."""
    cli._load_extras()
    found: dict[str, argparse.ArgumentParser] = {}

    def walk(parser: argparse.ArgumentParser) -> None:
        found[parser.prog] = parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for child in action.choices.values():
                    walk(child)

    walk(cli._parser())
    return found


def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"smppkit {__version__}"


def test_every_sub_command_has_a_description_and_shows_its_defaults():
    parsers = _parsers()
    assert {"smppkit sim", "smppkit doctor", "smppkit analyze", "smppkit kannel run"} <= set(parsers)
    for prog, parser in parsers.items():
        assert parser.description, f"{prog} --help has no description"
        text = parser.format_help()
        for action in parser._actions:
            default = action.default
            if (not action.option_strings or default is None or default is False
                    or default == argparse.SUPPRESS or isinstance(default, list)):
                continue
            line = next(i for i, ln in enumerate(text.splitlines()) if action.option_strings[-1] in ln
                        and ln.lstrip().startswith(action.option_strings[0]))
            block = " ".join(text.splitlines()[line:line + 4])
            assert "default" in block, f"{prog} {action.option_strings[-1]} shows no default"


def test_sim_help_lists_the_scenarios_and_explains_the_clock():
    text = _parsers()["smppkit sim"].format_help()
    for name, scenario in BUILTIN_SCENARIOS.items():
        assert f"{name}  " in text and scenario.description in text
    assert "The clock is fixed: it starts at 2026-01-01 00:00:00 UTC every run" in text
    assert "--wall-clock" in text and "--http PORT" in text
