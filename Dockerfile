# Amadeus: the KEDA external scaler and self-healer, in one Node process.
# Build: docker build -t amadeus:dev .    (scripts/kind-e2e.sh builds and loads it into kind)
# Node 22: what the image runs; the code also runs on Node 20.

FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The native TensorFlow backend (@tensorflow/tfjs-node, optional) downloads libtensorflow here,
# where the network is available; without it the wasm backend runs.
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:22-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
# libuv's pool (4 threads by default) runs every file read, DNS lookup and hash of the process: a
# hung shared volume may hold two of them (volume-ops.ts) and a slow resolver more, so give it room.
ENV UV_THREADPOOL_SIZE=16
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY proto ./proto
COPY models ./models
# Fine-tuned weights persist here (mount a volume to keep them across pods).
RUN mkdir -p /app/.amadeus && chown node:node /app/.amadeus
USER node
# gRPC for KEDA on 6000; /metrics, /healthz and /readyz on 9464.
EXPOSE 6000 9464
# Docker's own health check (Kubernetes uses the probes in keda/ instead): the process answers.
HEALTHCHECK --interval=30s --timeout=3s --start-period=60s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9464/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["serve"]
