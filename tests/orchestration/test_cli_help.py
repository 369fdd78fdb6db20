"""Every subcommand's `--help` explains itself: a description, a help text per option, an example."""

import argparse

from orchestration.cli import _parser


def every_parser(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from every_parser(child, (*path, name))


def test_every_subcommand_has_a_description_option_help_and_an_example():
    parsers = dict(every_parser(_parser()))
    assert {("package",), ("export",), ("bank", "load"), ("bench", "parse"), ("sandbox", "serve"), ("backfill",)} <= set(parsers)
    for path, parser in parsers.items():
        name = " ".join(("stripe-close", *path))
        assert parser.description and parser.description.strip(), f"{name} has no description"
        assert parser.epilog and parser.epilog.startswith("example: stripe-close"), f"{name} has no example"
        if path:
            assert parser.epilog.startswith(f"example: {name}"), f"{name}'s example runs another command: {parser.epilog}"
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            assert action.help and action.help.strip(), f"{name} {'/'.join(action.option_strings) or action.dest} has no help text"
