"""Real HTTP servers on loopback that speak what vLLM and TGI speak, for tests and benchmarks.

    from tests.standins import VLLMStandin, TGIStandin, Behaviour

    with VLLMStandin(model="standin-model", max_model_len=4096) as vllm:   # also `async with`
        vllm.queue_behaviour(Behaviour(status=429), Behaviour())  # one per request, in order
        ...                     # vllm.url, vllm.base_url (url + "/v1"), vllm.default
        vllm.requests           # JSON bodies received on the generation routes
        vllm.disconnects        # (request index, monotonic time) when a client left mid-answer
        vllm.wait_for_disconnect(timeout=2.0)

An OpenID provider for single sign-on: `OIDCProviderStandin` (see `tests/standins/oidc.py`).

As a process: `python -m tests.standins vllm --port 9101 [--token-delay 0.01 ...]`.
"""

from __future__ import annotations

from tests.standins.behaviour import Behaviour
from tests.standins.oidc import Forgery, OIDCProviderStandin, Person
from tests.standins.tgi import TGIStandin
from tests.standins.vllm import VLLMStandin

__all__ = ["Behaviour", "Forgery", "OIDCProviderStandin", "Person", "TGIStandin", "VLLMStandin"]
