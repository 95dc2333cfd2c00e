"""jieba's dictionary loaded again answers as it did the first time: a model swapped in by
`PUT /model` (promotion, rollback) segments text as a freshly started server does.

Rasa's JiebaTokenizer loads the model's user dictionary into jieba's one global tokenizer each
time a model loads. jieba's `Tokenizer.add_word` sets the word's frequency and adds it to the
dictionary's total every time, without taking off the frequency it had: after a second load of
the same 499,414 words the total went from 73.7 M to 87.2 M, which moves the segmentation (a
golden-set message went from complain at 0.86 to nlu_fallback). `install` makes a word added
again by `add_word` replace its own earlier frequency in the total. The first time a word is
added nothing changes (the total grows as jieba always did, as in training), so a fresh
process segments exactly as before. Not fixed upstream (jieba 0.42.1 is its last release).
"""

from __future__ import annotations

from typing import Any

__all__ = ["install", "installed"]

_ADDED = "_assistant_added_words"  # per tokenizer: the words add_word has set
_state = {"installed": False}


def installed() -> bool:
    return _state["installed"]


def install() -> None:
    """Patch jieba.Tokenizer.add_word (idempotent)."""
    if _state["installed"]:
        return
    import jieba

    original = jieba.Tokenizer.add_word

    def add_word(self: Any, word: Any, freq: Any = None, tag: Any = None) -> None:
        added: set[str] = self.__dict__.setdefault(_ADDED, set())
        text = jieba.strdecode(word)
        again = text in added
        before_total, before_freq = self.total, self.FREQ.get(text, 0)
        original(self, word, freq, tag)
        if again:  # replace its earlier frequency instead of counting the word twice
            self.total = before_total - before_freq + self.FREQ.get(text, 0)
        added.add(text)

    jieba.Tokenizer.add_word = add_word
    _state["installed"] = True
