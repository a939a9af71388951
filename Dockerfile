# One image for every mirrorlab service (control and the data nodes): `docker compose up` runs it
# five times with a different environment and command. The services run from their TypeScript
# sources with tsx, exactly as the local launcher starts them (shared/topology.ts serviceCommand):
#   node --import tsx services/control/src/main.ts
#   node --import tsx services/node/src/main.ts      (the default CMD: a data node)
# Those paths are relative, so WORKDIR is the repository copy. tests/unit/compose-topology.test.ts
# checks this file's WORKDIR and CMD against serviceCommand.

# --- dependencies: only what the services need at run time (tsx is a runtime dependency) ---
FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=dev drops typescript, vitest, dclint and the type packages. --ignore-scripts: no install
# script runs; esbuild (under tsx) gets its binary from its platform package all the same.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# --- runtime ---
FROM node:24-slim
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY shared ./shared
COPY services ./services
# Each container keeps its data under /data/<id> (DATA_DIR), on a named volume mounted at /data.
# An empty named volume takes the owner of the image's directory, so /data must belong to the
# unprivileged user before the first start.
RUN mkdir -p /data && chown node:node /data
# The code stays root-owned and read-only for the service.
USER node
EXPOSE 7000-7005
# No ENTRYPOINT: compose's `init: true` puts tini at PID 1 (with plain docker, use `docker run --init`).
CMD ["node", "--import", "tsx", "services/node/src/main.ts"]
