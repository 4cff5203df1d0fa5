# The test command CI runs (see README.md): vet, staticcheck, every test,
# then each fuzz target for a few seconds.
GO          ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME    ?= 3s
export CGO_ENABLED ?= 0

.PHONY: test vet staticcheck unit fuzz-smoke build demo bench

test: vet staticcheck unit fuzz-smoke

build:
	$(GO) build -trimpath -o bin/tlswarden ./cmd/tlswarden

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

staticcheck:
	$(GO) run $(STATICCHECK) ./...

unit:
	$(GO) test -count=1 -timeout 15m ./...

# Runs every Fuzz target briefly; run one long with e.g.
#   go test -run '^$$' -fuzz '^FuzzReadServerFlight$$' -fuzztime 10m ./probes/hello
fuzz-smoke:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg >/dev/null || exit 1; \
	  done; \
	done

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
