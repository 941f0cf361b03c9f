# syntax=docker/dockerfile:1
# One image per service, all from this file: `docker compose build` passes SERVICE (gateway, subgraphs/<domain>,
# apps/pm). Node 20 on Debian bookworm-slim; TypeScript runs through tsx, as in development.

FROM node:20-bookworm-slim AS base
ENV CI=true \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false
WORKDIR /app

# Production dependencies only, from the lockfile; manifests first so code changes reuse this layer.
FROM base AS deps
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
COPY apps/pm/package.json apps/pm/
COPY gateway/package.json gateway/
COPY packages/cache/package.json packages/cache/
COPY packages/connectors/package.json packages/connectors/
COPY packages/db/package.json packages/db/
COPY packages/embedded-postgres/package.json packages/embedded-postgres/
COPY packages/jobs/package.json packages/jobs/
COPY packages/operations/package.json packages/operations/
COPY packages/seed/package.json packages/seed/
COPY packages/service-kit/package.json packages/service-kit/
COPY packages/stack/package.json packages/stack/
COPY packages/storage/package.json packages/storage/
COPY packages/telemetry/package.json packages/telemetry/
COPY packages/testing/package.json packages/testing/
COPY packages/transform/package.json packages/transform/
COPY subgraphs/core/package.json subgraphs/core/
COPY subgraphs/catalog/package.json subgraphs/catalog/
COPY subgraphs/imports/package.json subgraphs/imports/
COPY subgraphs/exports/package.json subgraphs/exports/
COPY subgraphs/media/package.json subgraphs/media/
COPY subgraphs/code2asin/package.json subgraphs/code2asin/
COPY subgraphs/analytics/package.json subgraphs/analytics/
RUN npx -y pnpm@10 install --frozen-lockfile --prod --ignore-scripts

FROM base AS runtime
# pnpm (for `pnpm pm migrate up`, the exact version package.json pins, so it never downloads another at run
# time) and tsx (the lockfile's version) are installed here: nothing is fetched when a container starts.
COPY package.json ./
RUN npm install -g "$(node -p "require('./package.json').packageManager.split('+')[0]")" tsx@4.23.15 \
 && npm cache clean --force
# pg_dump, pg_restore and psql (Debian's PostgreSQL 15 client, as the postgres:15 service) for backups.
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    LOG_LEVEL=info
COPY --from=deps /app ./
COPY . .
ARG SERVICE=gateway
ENV SERVICE=${SERVICE}
USER node
EXPOSE 4000-4007
# exec: tsx replaces the shell, so `docker stop`'s SIGTERM reaches the service for its graceful shutdown.
CMD ["sh", "-c", "exec tsx \"$SERVICE/src/main.ts\""]
