# The image of the optional Fargate compactor (infra/fargate.ts): the workspace installed
# without dev dependencies, the compiled `compacter` CLI as entrypoint (packages/cli/dist,
# built by `npm ci` through the root `prepare` script; bin/compacter.js runs it, not tsx,
# because it is newer than every source file). SST builds it from the repo root on
# `sst deploy` when COMPACTER_FARGATE_COMPACTOR=true (Docker must be running).
# Node 22 and glibc (Debian), like the Lambda runtime, so DuckDB loads the same binding.
FROM node:22-bookworm-slim

ENV NODE_ENV=production
WORKDIR /app

COPY package.json package-lock.json ./
COPY packages/ packages/
# The full install (--include=dev: NODE_ENV=production would omit them) builds the CLI:
# prepare needs esbuild, a dev dependency. The prune then drops the dev dependencies, and
# the build fails here if the compiled CLI is missing or cannot start.
RUN npm ci --include=dev --no-audit --no-fund \
  && npm prune --omit=dev --no-audit --no-fund \
  && npm cache clean --force \
  && test -f packages/cli/dist/main.js \
  && node packages/cli/bin/compacter.js --version

USER node
ENTRYPOINT ["node", "/app/packages/cli/bin/compacter.js"]
CMD ["compact"]
