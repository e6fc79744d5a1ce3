# servo: the agent, its built-in drivers and the optimizer in one binary.
#
#   docker build -t servo .
#   docker run -v /opt/optune/auth_token:/opt/optune/auth_token \
#     -v /opt/optune/config.yaml:/servo/config.yaml \
#     servo --auth-token /opt/optune/auth_token --account ACCOUNT APP_ID
#
# Builder: the official Deno image compiles dist/servo (deno task compile,
# which needs internet access to fetch the denort runtime and npm packages).
FROM denoland/deno:2.9.6 AS build
WORKDIR /src
COPY deno.json deno.lock ./
RUN deno install --frozen
COPY main.ts ./
COPY lib/ lib/
COPY drivers/ drivers/
COPY scripts/ scripts/
COPY vendor/ vendor/
RUN deno task compile

# Runtime: slim Debian (glibc), because drivers are usually shell scripts
# (/bin/sh) and servo starts each driver in its own process group through
# setsid (util-linux, part of the base image). tini is process 1: it reaps
# what drivers leave behind (servo as process 1 could not: each would stay a
# zombie) and passes every signal on to servo. Runs as a non-root user.
FROM debian:bookworm-slim
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/* \
  && useradd --system --uid 10001 --home-dir /servo --shell /usr/sbin/nologin servo \
  && mkdir -p /servo && chown servo /servo
COPY --from=build /src/dist/servo /usr/local/bin/servo
WORKDIR /servo
USER servo
# Drivers are ./adjust, ./measure (and optionally ./environment) in /servo:
# mount or COPY them in a derived image, or use a built-in driver, e.g.
#   printf '#!/bin/sh\nexec servo driver redis "$@"\n' > adjust
# or name it in config.yaml: "servo: {adjust: redis, measure: redis-benchmark}".
# The servo binary with the arguments of `docker run IMAGE ...`, under tini.
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/servo"]
