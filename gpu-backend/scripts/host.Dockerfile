# A GPU host image built from a lock file: CUDA base pinned by digest, ComfyUI and custom nodes at
# their locked commits, Python requirements with --require-hashes, gpu-backend, cloudflared.
# Every version and checksum is a required build argument; nothing defaults to "latest".
#   docker build -f gpu-backend/scripts/host.Dockerfile \
#     --build-arg CUDA_IMAGE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04@sha256:<digest> \
#     --build-arg NODE_VERSION=22.x.y --build-arg NODE_SHA256=<sha256 of node-v22.x.y-linux-x64.tar.xz> \
#     --build-arg CLOUDFLARED_VERSION=<version> --build-arg CLOUDFLARED_SHA256=<sha256 of cloudflared-linux-amd64> \
#     --build-arg LOCK_FILE=gpu-backend/locks/<host>.lock.json .
ARG CUDA_IMAGE
FROM ${CUDA_IMAGE}
ARG CUDA_IMAGE
ARG NODE_VERSION
ARG NODE_SHA256
ARG CLOUDFLARED_VERSION
ARG CLOUDFLARED_SHA256
ARG LOCK_FILE
SHELL ["/bin/bash", "-euo", "pipefail", "-c"]

RUN case "${CUDA_IMAGE}" in *@sha256:*) ;; *) echo "CUDA_IMAGE must be pinned by digest (image@sha256:...)" >&2; exit 1 ;; esac; \
    for v in NODE_VERSION NODE_SHA256 CLOUDFLARED_VERSION CLOUDFLARED_SHA256 LOCK_FILE; do \
      if [ -z "${!v}" ]; then echo "build argument $v is required" >&2; exit 1; fi; \
    done

RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl git python3 python3-venv xz-utils \
    && rm -rf /var/lib/apt/lists/*

RUN curl -fsSLo /tmp/node.tar.xz "https://nodejs.org/dist/v${NODE_VERSION}/node-v${NODE_VERSION}-linux-x64.tar.xz" \
    && echo "${NODE_SHA256}  /tmp/node.tar.xz" | sha256sum -c - \
    && tar -xJf /tmp/node.tar.xz -C /usr/local --strip-components=1 && rm /tmp/node.tar.xz \
    && curl -fsSLo /usr/local/bin/cloudflared "https://github.com/cloudflare/cloudflared/releases/download/${CLOUDFLARED_VERSION}/cloudflared-linux-amd64" \
    && echo "${CLOUDFLARED_SHA256}  /usr/local/bin/cloudflared" | sha256sum -c - \
    && chmod +x /usr/local/bin/cloudflared

WORKDIR /opt/comfyui-saas
COPY package.json package-lock.json ./
COPY gpu-backend/package.json gpu-backend/
RUN npm ci --omit=dev --workspace gpu-backend --include-workspace-root=false
COPY src/protocol src/protocol
COPY gpu-backend gpu-backend
RUN gpu-backend/scripts/setup-host.sh "${LOCK_FILE}" /opt/comfyui

ENV COMFY_DIR=/opt/comfyui \
    COMFY_COMMAND=/opt/comfyui/.venv/bin/python \
    COMFY_ARGS='["main.py","--listen","127.0.0.1","--port","8188","--disable-auto-launch","--disable-api-nodes","--disable-metadata"]' \
    LOCK_FILE=/opt/comfyui-saas/${LOCK_FILE}
STOPSIGNAL SIGTERM
CMD ["node", "gpu-backend/src/main.ts"]
