# syntax=docker/dockerfile:1
# The mailnode image: one binary, configured by a region file mounted at /etc/mailnode.
#
#   docker build -t mailnode .
#   docker run --rm -v "$PWD/cluster/deploy:/etc/mailnode:ro" -e MAILNODE_API_KEYS=... \
#       mailnode --config /etc/mailnode/us.yaml --node us-1
#
# The dependencies need Swift tools 6.2 or later; the default follows the toolchain CI uses.
ARG SWIFT_VERSION=6.3

# ---- build ---------------------------------------------------------------------------------------
FROM swift:${SWIFT_VERSION}-bookworm AS build
# Packages follow the Debian release the base image is on (its security updates included) rather
# than pinned versions, which the Debian mirrors drop after each point release.
# hadolint ignore=DL3008
RUN export DEBIAN_FRONTEND=noninteractive \
    && apt-get update -q \
    && apt-get install -y -q --no-install-recommends libhiredis-dev libcrypt-dev zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /build
# Resolve first, so that a source edit does not refetch the dependencies.
COPY Package.swift Package.resolved* ./
RUN swift package resolve
# Every folder Package.swift names a target in must be there, even for targets not built here.
COPY Sources ./Sources
COPY Tests ./Tests
COPY Benchmarks ./Benchmarks
RUN swift build -c release --static-swift-stdlib --product mailnode \
    && mkdir -p /staging \
    && cp "$(swift build -c release --show-bin-path)/mailnode" /staging/ \
    && { cp /usr/libexec/swift/linux/swift-backtrace-static /staging/ 2>/dev/null || true; }

# ---- run -----------------------------------------------------------------------------------------
FROM debian:bookworm-slim
# hadolint ignore=DL3008
RUN export DEBIAN_FRONTEND=noninteractive \
    && apt-get update -q \
    && apt-get install -y -q --no-install-recommends \
        libhiredis0.14 libcrypt1 ca-certificates tzdata libstdc++6 zlib1g \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 mailnode \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin mailnode \
    && mkdir -p /etc/mailnode
COPY --from=build /staging/ /usr/local/bin/
# Readable crash reports without a debugger in the image.
ENV SWIFT_BACKTRACE=enable=yes,sanitize=yes,threads=all,images=all,interactive=no,swift-backtrace=/usr/local/bin/swift-backtrace-static
# Numeric, so that the host and Kubernetes (runAsNonRoot) can check it is not root.
USER 10001:10001
# REST API, admin (metrics, health), IMAPS, IMAP, SMTPS, submission, SMTP. Docker (20.10 and later)
# lets an unprivileged process bind ports below 1024 inside its own network namespace.
EXPOSE 8080 9090 993 143 465 587 25
# SIGTERM drains the node: it deregisters, says BYE to IMAP sessions and finishes SMTP transactions.
STOPSIGNAL SIGTERM
ENTRYPOINT ["mailnode", "serve"]
CMD ["--config", "/etc/mailnode/region.yaml"]
