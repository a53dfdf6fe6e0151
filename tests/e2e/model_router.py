"""A small stand-in for a gateway that fronts several models, until the real one does: it lists
the models of the stand-ins behind it and sends each chat completion to the stand-in whose
model it names (OpenAI's 404 `model_not_found` for any other). Models named in `down` are
listed as unable to answer now (`available: false`), as a gateway lists a model whose
servers are all out of rotation, and answer 503.

    with VLLMStandin(model="big") as big, VLLMStandin(model="small") as small:
        with ModelRouter(big, small, down=["spare"]) as router:   # LLM_GATEWAY_URL=router.url
            ...
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tests.standins import VLLMStandin
from tests.standins.server import ASGIEndpoint, Standin, read_body


class ModelRouter(Standin):
    def __init__(self, *models: VLLMStandin, down: Sequence[str] = ()) -> None:
        super().__init__(model=models[0].model)
        self.models = {standin.model: standin for standin in models}
        self.down = list(down)
        self.apps = {name: standin.build_app() for name, standin in self.models.items()}

    def build_app(self) -> ASGIApp:
        return Starlette(
            routes=[
                Route("/v1/models", self.list_models, methods=["GET"]),
                Route("/v1/chat/completions", ASGIEndpoint(self.chat), methods=["POST"]),
                Route("/healthz", lambda request: Response(), methods=["GET"]),
            ]
        )

    async def list_models(self, request: Request) -> Response:
        listed = [
            {"id": name, "object": "model", "max_model_len": standin.max_model_len}
            for name, standin in self.models.items()
        ]
        listed += [{"id": name, "object": "model", "available": False} for name in self.down]
        return JSONResponse({"object": "list", "data": listed})

    async def chat(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await read_body(receive)
        name = json.loads(body or b"{}").get("model")
        app = self.apps.get(name)
        if name in self.down:
            error = {"message": f"{name!r} cannot answer now", "code": "unavailable"}
            await JSONResponse({"error": error}, status_code=503)(scope, receive, send)
            return
        if app is None:
            error = {"message": f"no model {name!r}", "code": "model_not_found"}
            await JSONResponse({"error": error}, status_code=404)(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await app(scope, replay, send)
