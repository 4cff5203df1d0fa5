# tlswarden: a static binary on a distroless, non-root base.
#   docker build -t tlswarden .
#   docker run -p 8080:8080 tlswarden serve --listen 0.0.0.0:8080
# Probes: GET /healthz (alive) and GET /readyz (store reachable) on the
# listener; the image has no shell or curl, so use the orchestrator's HTTP
# probes (deploy/kubernetes, deploy/compose.yaml) rather than HEALTHCHECK.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/tlswarden ./cmd/tlswarden

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/tlswarden /usr/local/bin/tlswarden
# The embedded store's default directory; mount a volume here, or give
# DATABASE_URL for Postgres.
ENV TLSWARDEN_DATA_DIR=/var/lib/tlswarden \
    TLSWARDEN_LISTEN=0.0.0.0:8080
WORKDIR /var/lib/tlswarden
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/tlswarden"]
CMD ["serve"]
