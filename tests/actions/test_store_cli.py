from __future__ import annotations

from actions.store.__main__ import demo_lines, demo_table, main
from actions.store.generate import DEMO_SUBSCRIBERS


def test_demo_table_lists_every_demo_number(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    for demo in DEMO_SUBSCRIBERS:
        assert demo.phone in out and demo.id_last6 in out
    assert demo_table().count("\n") == len(DEMO_SUBSCRIBERS)


def test_demo_lines_header_then_one_row_per_demo():
    lines = demo_lines()
    assert lines[0].startswith("手机号") and len(lines) == len(DEMO_SUBSCRIBERS) + 1
