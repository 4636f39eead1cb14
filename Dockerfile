# keysat-serve in a container: `docker build -t keysat .`, then
#   docker run -d -p 8080:8080 -v keysat-data:/data keysat
# Build for x86_64 and aarch64 at once with buildx (see README.md, "Running with Docker"). The
# build stage uses the same scripts/setup.sh and CMake flags as the README's commands; the runtime
# stage holds the four tools, the entrypoint and only the libraries they load.

FROM debian:bookworm AS build
WORKDIR /src
COPY . .
# Only what building the tools needs (no browser, fuzzer or test helpers).
RUN bash scripts/setup.sh --build-only && rm -rf /var/lib/apt/lists/*
RUN rm -rf build \
 && cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKEYSAT_WERROR=ON \
      -DKEYSAT_TESTS=OFF -DKEYSAT_BENCH=OFF \
 && cmake --build build -j"$(nproc)" --target keysat-serve keysat-issue keysat-verify keysat-migrate \
 && sh dist/stage-image.sh build /stage

FROM debian:bookworm-slim
COPY --from=build /stage/runtime-packages /tmp/runtime-packages
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      $(cat /tmp/runtime-packages) ca-certificates \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages \
 && groupadd --system --gid 10001 keysat \
 && useradd --system --uid 10001 --gid keysat --home-dir /data --no-create-home \
      --shell /usr/sbin/nologin keysat \
 && mkdir -p /data && chown keysat:keysat /data
COPY --from=build /stage/usr/local/bin/ /usr/local/bin/
# The entrypoint starts as root only to give /data (a fresh volume is root's) to the keysat user,
# then runs everything as that user.
ENV KEYSAT_DATA_DIR=/data KEYSAT_BIND=0.0.0.0:8080
VOLUME /data
EXPOSE 8080
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["serve"]
