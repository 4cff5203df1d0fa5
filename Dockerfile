# tlswarden: a static binary on an empty base image, running as non-root.
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
# What the final image needs besides the binary: trust anchors for the
# certificate probe, a writable data directory and /tmp, a passwd entry.
RUN mkdir -p /out/data /out/tmp && chmod 1777 /out/tmp && \
    echo 'tlswarden:x:65532:65532::/var/lib/tlswarden:/nonexistent' > /out/passwd

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/passwd /etc/passwd
COPY --from=build --chown=65532:65532 /out/data /var/lib/tlswarden
COPY --from=build /out/tmp /tmp
COPY --from=build /out/tlswarden /usr/local/bin/tlswarden
# The embedded store's default directory; mount a volume here, or give
# DATABASE_URL for Postgres.
ENV TLSWARDEN_DATA_DIR=/var/lib/tlswarden \
    TLSWARDEN_LISTEN=0.0.0.0:8080
WORKDIR /var/lib/tlswarden
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/tlswarden"]
CMD ["serve"]
