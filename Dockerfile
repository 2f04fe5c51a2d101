# The API server as a container: Node 20 on Debian slim, production dependencies only, run as the
# image's unprivileged `node` user. Not built in this repository's CI (no Docker engine there);
# test/deploy.test.ts checks what it can without one. See docs/deploy.md.
#
#   docker build -t inventory-api .
#   docker run -p 3000:3000 -e DATABASE_URL=postgres://... -e AUTH_ISSUER=... -e AUTH_AUDIENCE=... \
#     -e AUTH_JWKS_URL=... inventory-api
FROM node:20-bookworm-slim

ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/app/.data
WORKDIR /app

# Dependencies first (a layer that changes only with the lockfile). tsx, which runs the
# TypeScript sources, is a production dependency; the SDK workspace (generated/) needs its
# manifest, and the postinstall step (patch-package) its patches.
COPY package.json package-lock.json ./
COPY generated/package.json generated/
COPY patches/ patches/
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY . .
# DATA_DIR holds the embedded PostgreSQL and the dev signing key, used only without
# DATABASE_URL / AUTH_* (trying the image out); mount a volume there to keep them.
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node

EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# What `npm start` runs, without npm in between: SIGTERM reaches the server itself, which then
# finishes requests in flight and closes its pools (docs/deploy.md).
CMD ["node", "--max-semi-space-size=8", "--import", "tsx", "server/main.ts"]
