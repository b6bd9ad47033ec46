"""String translation with attention: the generic task (train, translate, save/load, errors),
the Babel date data and the ``bprop train --task dates`` command on a tiny run."""

import datetime
import json

import pytest

from bprop.cli import main
from bprop.tasks.translation import (
    encode_pairs,
    exact_match,
    load_translator,
    save_translator,
    train_translation,
    vocabularies,
)

PAIRS = [(w, w[::-1]) for w in ["ab", "ba", "abb", "bba", "aab", "bab", "aba", "baa", "abab"]]


@pytest.fixture(scope="module")
def reverser():
    return train_translation(PAIRS * 8, hidden=16, epochs=40, batch_size=16, lr=0.02, verbose=0)


def test_learns_to_reverse_and_beam_agrees(reverser):
    assert exact_match(reverser, PAIRS) == 1.0
    assert exact_match(reverser, PAIRS, beam=3) == 1.0
    assert reverser.translate(["abb"], beam=2) == ["bba"]


def test_targets_end_with_eos_and_pad_after_it():
    src, tgt = vocabularies([("xy", "a"), ("z", "bcd")])
    X, Y, lengths = encode_pairs([("xy", "a"), ("z", "bcd")], src, tgt)
    pad, bos, eos = 0, 1, 2
    assert tgt.symbols[:3] == ["<pad>", "<s>", "</s>"] and src.symbols[0] == "<unk>"
    a, b, c, d = (tgt.index[ch] for ch in "abcd")
    assert Y.tolist() == [[a, eos, pad, pad], [b, c, d, eos]] and lengths.tolist() == [2, 4]
    # decoder inputs: <s> then the target shifted right (teacher forcing)
    assert X[:, -4:].tolist() == [[bos, a, eos, pad], [bos, b, c, d]]
    assert X[1, :2].tolist() == [src.index["z"], -1]


def test_save_and_load_translate_the_same(reverser, tmp_path):
    path = tmp_path / "rev.bprop"
    save_translator(reverser, path)
    back = load_translator(path)
    texts = [s for s, _ in PAIRS]
    assert back.translate(texts) == reverser.translate(texts)
    assert back.source_vocab.symbols == reverser.source_vocab.symbols


def test_bad_input(reverser):
    with pytest.raises(ValueError, match="empty string"):
        reverser.translate([""])
    with pytest.raises(ValueError, match="never seen in training"):
        train_translation(PAIRS, [("ab", "zz")], hidden=4, epochs=1, verbose=0)
    assert reverser.translate(["abq"])[0] is not None  # unknown source characters are <unk>


# --- dates written by Babel ---------------------------------------------------------------


def test_dates_are_distinct_reproducible_and_held_out_dates_unseen():
    pytest.importorskip("babel")
    from bprop.tasks.dates import date_examples, date_split

    pairs = date_examples(300, seed=4)
    assert pairs == date_examples(300, seed=4)
    isos = [iso for _, iso in pairs]
    assert len(set(isos)) == 300
    for text, iso in pairs:
        day = datetime.date.fromisoformat(iso)
        assert str(day.year) in text and datetime.date(1900, 1, 1) <= day <= datetime.date(
            2099, 12, 31
        )
    train, test = date_split(400, 100, seed=1)
    assert not {iso for _, iso in train} & {iso for _, iso in test}
    assert len({text for text, _ in train}) > 390  # many languages and formats


def test_the_dates_command_trains_scores_and_saves(tmp_path, capsys):
    pytest.importorskip("babel")
    out = tmp_path / "dates.bprop"
    argv = ["train", "--task", "dates", "--examples", "200", "--test-examples", "10",
            "--epochs", "1", "--hidden", "8", "--beam", "2", "--out", str(out),
            "--report", str(tmp_path / "report"), "--json"]  # fmt: skip
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["task"] == "dates" and result["test_examples"] == 10
    assert 0.0 <= result["exact_match"] <= 1.0 and 0.0 <= result["exact_match_beam2"] <= 1.0
    html = (tmp_path / "report" / "index.html").read_text()
    assert result["report"].endswith("index.html") and "Attention maps" in html
    assert html.count("<img") == 5  # the learning curve and four attention maps
    assert main(["translate", str(out), "3 mai 1998", "June 7, 1969", "--beam", "2", "--json"]) == 0
    lines = json.loads(capsys.readouterr().out)["translations"]
    assert len(lines) == 2 and all(len(x) <= 16 for x in lines)
    assert main(["evaluate", str(out), "--data", "digits"]) == 2
    assert "is a translator; use `bprop translate" in capsys.readouterr().err
    translator = load_translator(out)
    assert translator.max_len == 16  # "YYYY-MM-DD</s>" and 5 to spare
    assert len(translator.translate(["3 mai 1998"])[0]) <= 16


def test_an_interrupted_dates_run_keeps_a_translator(tmp_path):
    pytest.importorskip("babel")
    from bprop import Sequential
    from bprop.recurrent.seq2seq import Seq2Seq
    from bprop.tasks import TASKS, Options
    from bprop.tasks.dates import date_split

    opts = Options(TASKS["dates"].options, examples=60, test_examples=5)
    src, tgt = vocabularies(date_split(60, 5)[0])
    net = Sequential(Seq2Seq(len(src), len(tgt), hidden=4, rng=0))
    TASKS["dates"].keep(opts, net)(tmp_path / "kept.bprop")
    kept = load_translator(tmp_path / "kept.bprop")
    assert kept.target_vocab.symbols == tgt.symbols and kept.max_len == 16


# --- numbers written in words by num2words ------------------------------------------------


def test_numbers_are_reproducible_of_every_length_and_held_out_numbers_unseen():
    pytest.importorskip("num2words")
    from num2words import num2words

    from bprop.tasks.numbers import LANGUAGES, number_examples, number_split

    pairs = number_examples(400, seed=2)
    assert pairs == number_examples(400, seed=2)
    assert {len(d) for _, d in pairs} == {1, 2, 3, 4}  # short and long targets alike
    for words, digits in pairs[:50]:
        assert words in {num2words(int(digits), lang=lang) for lang in LANGUAGES}
    train, test = number_split(500, 120, seed=3)
    held = [int(d) for _, d in test]
    assert len(set(held)) == 120 and min(held) >= 100
    assert not set(held) & {int(d) for _, d in train}
    X, Y, lengths = encode_pairs(train, *vocabularies(train))
    assert sorted(set(lengths.tolist())) == [2, 3, 4, 5]  # trained with the targets' lengths


def test_the_numbers_command_trains_scores_and_translates(tmp_path, capsys):
    pytest.importorskip("num2words")
    out = tmp_path / "numbers.bprop"
    argv = ["train", "--task", "numbers", "--examples", "150", "--test-examples", "8",
            "--epochs", "1", "--hidden", "6", "--embed", "4", "--encoder", "forward",
            "--out", str(out), "--json"]  # fmt: skip
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["task"] == "numbers" and result["test_examples"] == 8
    assert 0.0 <= result["exact_match"] <= 1.0
    translator = load_translator(out)
    assert translator.model.encoder_kind == "forward" and translator.model.embed == 4
    assert translator.max_len == 10  # four digits, </s> and 5 to spare
