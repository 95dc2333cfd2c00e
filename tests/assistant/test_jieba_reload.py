"""A user dictionary loaded again (a model swapped in by PUT /model) leaves jieba's dictionary
and its segmentation as the first load left them; the first load is unchanged."""

from __future__ import annotations

from pathlib import Path

import jieba

from assistant import jieba_reload

TEXT = "我想把套餐换成畅享套餐再开通国际漫游"


def load(tokenizer: jieba.Tokenizer, path: Path) -> None:
    with path.open("rb") as f:  # jieba leaves a file it opened itself unclosed
        tokenizer.load_userdict(f)


def test_a_dictionary_loaded_twice_counts_once(tmp_path: Path) -> None:
    userdict = tmp_path / "userdict.txt"
    userdict.write_text("畅享套餐 200000 n\n国际漫游 300000 n\n换成 50000 v\n", encoding="utf-8")
    jieba_reload.install()
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    base = tokenizer.total
    load(tokenizer, userdict)
    first_total, first_cut = tokenizer.total, tokenizer.lcut(TEXT)
    assert first_total == base + 550_000  # the first load counts as jieba always did
    for _ in range(3):
        load(tokenizer, userdict)
    assert tokenizer.total == first_total
    assert tokenizer.lcut(TEXT) == first_cut
    assert "畅享套餐" in first_cut and "国际漫游" in first_cut


def test_a_new_frequency_replaces_the_old(tmp_path: Path) -> None:
    jieba_reload.install()
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    base = tokenizer.total
    tokenizer.add_word("畅享套餐", 1000)
    tokenizer.add_word("畅享套餐", 4000)
    assert tokenizer.total == base + 4000 and tokenizer.FREQ["畅享套餐"] == 4000
