"""Cutting an answer at its stop sequences when the server leaves them in the text (TGI
does): text that could be the start of a stop sequence is held back until it is not.

    cut = StopCutter(["<end_of_turn>"])
    cut.push("Hi<end_")     # "Hi"
    cut.push("of_turn>")    # ""   and cut.stopped is True
    cut.flush()             # what was held back when the answer ends without a stop
"""

from __future__ import annotations


class StopCutter:
    def __init__(self, stops: list[str] | tuple[str, ...]) -> None:
        self.stops = [stop for stop in stops if stop]
        self.held = ""
        self.stopped = False

    def push(self, text: str) -> str:
        """The part of `text` that is safe to show now."""
        if self.stopped or not self.stops:
            return "" if self.stopped else text
        pending = self.held + text
        cuts = [index for index in (pending.find(stop) for stop in self.stops) if index >= 0]
        if cuts:
            self.stopped = True
            self.held = ""
            return pending[: min(cuts)]
        keep = self._longest_stop_prefix_at_end(pending)
        self.held = pending[len(pending) - keep :] if keep else ""
        return pending[: len(pending) - keep]

    def flush(self) -> str:
        held, self.held = self.held, ""
        return held

    def _longest_stop_prefix_at_end(self, text: str) -> int:
        longest = 0
        for stop in self.stops:
            for size in range(min(len(stop) - 1, len(text)), longest, -1):
                if text.endswith(stop[:size]):
                    longest = size
                    break
        return longest
