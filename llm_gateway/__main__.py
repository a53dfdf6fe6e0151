"""`python -m llm_gateway`: serve the gateway at GATEWAY_HOST:GATEWAY_PORT (uvicorn)."""

from __future__ import annotations

import sys

import uvicorn

from llm_gateway.app import create_app
from llm_gateway.logs import configure_logging
from llm_gateway.models import ModelsFileError
from llm_gateway.settings import GatewaySettings, SettingsError


def main() -> None:
    try:
        settings = GatewaySettings()
        app = create_app(settings)
    except (SettingsError, ModelsFileError) as error:
        print(error, file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging(settings.log_level, settings.log_format or "text")
    uvicorn.run(
        app,
        host=settings.gateway_host,
        port=settings.gateway_port,
        http="httptools",
        log_config=None,
        access_log=False,
        proxy_headers=False,
        timeout_graceful_shutdown=5,
        backlog=2048,
    )


if __name__ == "__main__":
    main()
