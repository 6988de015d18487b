# One image for api, worker and migrate (docker-compose.yml picks the command).
# The web app is built in a Node stage and served from web/dist at /; the final image's Node.js
# (Debian's) only runs code.javascript nodes in their sandbox.
FROM node:20-slim AS web
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 HF_HUB_OFFLINE=1
WORKDIR /app
# the code nodes' sandbox: bubblewrap around a python3 (this image's, under /usr/local) or node
RUN apt-get update && apt-get install -y --no-install-recommends bubblewrap nodejs \
    && rm -rf /var/lib/apt/lists/*
# torch first, so sentence-transformers does not pick its own build; pass PyTorch's CPU wheel
# index as TORCH_INDEX_URL for a small CPU-only image (see README, "Deploy")
ARG TORCH_INDEX_URL=""
RUN pip install ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} torch==2.13.0
COPY pyproject.toml README.md ./
COPY platform platform
COPY agents agents
COPY nodes nodes
COPY knowledge knowledge
COPY migrations migrations
COPY --from=web /web/dist web/dist
RUN pip install -e ".[s3]"
# a numeric user, so Kubernetes' runAsNonRoot can check it (deploy/kubernetes runs as 1000 too)
RUN useradd --create-home --uid 1000 reporunner && mkdir -p /data && chown reporunner /data
USER 1000:1000
EXPOSE 8000
CMD ["reporunner", "serve", "--host", "0.0.0.0", "--no-worker"]
