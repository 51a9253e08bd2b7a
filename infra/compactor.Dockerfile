# The image of the optional Fargate compactor (infra/fargate.ts): the workspace installed
# without dev dependencies, the `compacter` CLI as entrypoint. SST builds it from the repo
# root on `sst deploy` when COMPACTER_FARGATE_COMPACTOR=true (Docker must be running).
# Node 22 and glibc (Debian), like the Lambda runtime, so DuckDB loads the same binding.
FROM node:22-bookworm-slim

ENV NODE_ENV=production
WORKDIR /app

COPY package.json package-lock.json ./
COPY packages/ packages/
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

USER node
ENTRYPOINT ["node", "/app/packages/cli/bin/compacter.js"]
CMD ["compact"]
