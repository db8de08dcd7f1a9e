# Image for the saga orchestrator's processes: one image, the command picks the role
# (`migrate`, `worker`, `api`, `relay`, `consume`; see docker-compose.yml).
#
#   docker build -t saga-orchestrator .
#   docker run --rm -e DATABASE_URL=... saga-orchestrator migrate
#
# The worker bundles the workflow code from dist/workflows when it starts (webpack inside
# @temporalio/worker, a production dependency), so the runtime image needs no dev tools.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: compile TypeScript (src/ -> dist/) and the console ---------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# (npm's `prepare` builds only where src/ is present: not yet in this layer.)
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The operations console's bundle (dist/console) is built by scripts/build-console.mjs.
COPY scripts ./scripts
RUN npm run build

# ---- prod-deps: production node_modules only ------------------------------------------
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# ---- runtime --------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Files stay owned by root and are only readable by the `node` user the process runs as.
COPY package.json package-lock.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Read at runtime from <app>/migrations (resolved from dist/store as ../../migrations).
COPY migrations ./migrations
# Mount point of the payload-keys volume: a new volume takes this owner, so the one-shot
# `payload-key --file /keys/payload-keys` (as node) can create the key file there.
RUN mkdir /keys && chown node:node /keys && chmod 700 /keys
USER node
EXPOSE 3000
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["api"]
