# tidepool as a container: `docker compose up` (compose.yaml) or
#   docker build -t tidepool . && docker run -p 4566:4566 tidepool
# Extra arguments are appended to `tidepool serve`, e.g.
#   docker run -v tidepool-data:/data tidepool --data-dir /data --clock virtual

# --- build stage: compiler and -dev packages ------------------------------
FROM debian:bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config \
      libmicrohttpd-dev libsqlite3-dev libcjson-dev uuid-dev libssl-dev zlib1g-dev libcbor-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Only what the binary is built from (CMakeLists.txt also names the
# benchmark's source; the tests are not built here: no cmocka).
COPY CMakeLists.txt ./
COPY emulator ./emulator
COPY tests/bench ./tests/bench
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo \
 && cmake --build build -j"$(nproc)" --target tidepool \
 && strip build/tidepool \
 && ./build/tidepool version

# --- runtime stage: the shared libraries only, plus curl for the healthcheck
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libmicrohttpd12 libsqlite3-0 libcjson1 libuuid1 libssl3 zlib1g libcbor0.8 curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --create-home tidepool
COPY --from=build /src/build/tidepool /usr/local/bin/tidepool
USER tidepool
WORKDIR /data
EXPOSE 4566
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=5 \
  CMD curl -fsS http://127.0.0.1:4566/_tidepool/health || exit 1
ENTRYPOINT ["/usr/local/bin/tidepool", "serve", "--host", "0.0.0.0", "--port", "4566"]
CMD []
