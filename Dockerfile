# syntax=docker/dockerfile:1
# Build: compile TypeScript, then keep production dependencies only.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The lock file points msgpackr's optional native accelerator at a local stand-in (see README).
COPY vendor ./vendor
RUN npm ci
COPY tsconfig.json tsconfig.build.json tsconfig.migrations.json ./
COPY src ./src
COPY migrations ./migrations
COPY console ./console
RUN npm run build && npm prune --omit=dev

# Run: compiled code and production modules, as the unprivileged `node` user.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./
COPY --from=build --chown=node:node /app/vendor ./vendor
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
USER node
EXPOSE 3000
# MODE=api|worker|all comes from the environment. SIGTERM drains running attempts (SHUTDOWN_GRACE_MS,
# 25 s by default): give the container a longer stop timeout than that.
STOPSIGNAL SIGTERM
CMD ["node", "dist/main.js"]
