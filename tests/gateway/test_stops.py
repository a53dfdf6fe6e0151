"""Cutting an answer at a stop sequence the server left in the text."""

from __future__ import annotations

from llm_gateway.stops import StopCutter


def test_text_that_may_start_a_stop_sequence_is_held_back_until_it_does_not() -> None:
    cut = StopCutter(["<end_of_turn>"])
    assert cut.push("Hi <end") == "Hi "
    assert cut.push("less") == "<endless"
    assert not cut.stopped


def test_stop_sequence_split_over_tokens_ends_the_text() -> None:
    cut = StopCutter(["<end_of_turn>"])
    assert cut.push("Done.<end_") == "Done."
    assert cut.push("of_turn> more") == ""
    assert cut.stopped
    assert cut.push("ignored") == ""
    assert cut.flush() == ""


def test_the_earliest_of_several_stop_sequences_wins() -> None:
    cut = StopCutter(["STOP", "\nUser:"])
    assert cut.push("a\nUser: b STOP") == "a"


def test_held_text_comes_out_at_the_end() -> None:
    cut = StopCutter(["<end_of_turn>"])
    assert cut.push("x <end_of") == "x "
    assert cut.flush() == "<end_of"


def test_without_stop_sequences_text_passes_through() -> None:
    assert StopCutter([]).push("<end_of_turn>") == "<end_of_turn>"
