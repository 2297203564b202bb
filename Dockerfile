# granary: one static binary, used by docker-compose.yml for both
# `granary worker` and `granary serve` (see deploy/README.md).
#
# Base images are pinned by tag. distroless publishes no versioned tags, so
# pin its digest in CI (e.g. with Renovate) if builds must be bit-for-bit
# reproducible; static-debian12 at least fixes the Debian release.

# busybox is only here for its wget: the compose healthcheck of
# `granary serve` probes /healthz with it, and distroless has no shell tools.
# The uclibc variant is the statically linked one, so it runs without a libc.
FROM busybox:1.37.0-uclibc AS busybox

FROM golang:1.26.8-bookworm AS build
WORKDIR /src
# A static binary runs on distroless/static; GOTOOLCHAIN=local fails the
# build instead of silently downloading another Go.
ENV CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=readonly

# Modules first, so editing code does not re-download them.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download

COPY . .
# Lake provenance records this string (internal/buildinfo). .git is not in
# the build context, so pass it: GRANARY_VERSION=$(git describe --always --dirty).
ARG GRANARY_VERSION=
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -buildvcs=false \
      -ldflags="-s -w -X github.com/granaryml/granary/internal/buildinfo.Version=${GRANARY_VERSION}" \
      -o /out/granary ./cmd/granary

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=busybox /bin/busybox /usr/local/bin/busybox
COPY --from=build /out/granary /granary
USER nonroot:nonroot
# granary serve; the worker only makes outbound connections.
EXPOSE 8090
ENTRYPOINT ["/granary"]
