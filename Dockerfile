# syntax=docker/dockerfile:1
# The receiver (`warroom serve`) as a container: docker build -t feishu-warroom .
# Several replicas need PostgreSQL (WARROOM_DATABASE_URL); see README "Run in production".

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY adapters ./adapters
RUN npm run build:lib

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    PORT=8080 \
    WARROOM_DATA_DIR=/var/lib/feishu-warroom
WORKDIR /app
COPY package.json package-lock.json ./
# Runtime dependencies only; no install scripts (the compiled lib/ comes from the build stage).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force \
    && mkdir -p /var/lib/feishu-warroom && chown node:node /var/lib/feishu-warroom
COPY --from=build /app/lib ./lib
USER node
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "lib/src/cli/index.js", "serve", "--host", "0.0.0.0"]
