# The test command CI runs (see README.md): vet, staticcheck, every test,
# then each fuzz target for a few thousand executions.
GO          ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
# A count, not a duration: Go 1.26's fuzzing coordinator can fail a target
# with "context deadline exceeded" when a -fuzztime duration ends while a
# worker is busy (golang/go#75804, fixed in Go 1.27); a count has no deadline.
FUZZTIME    ?= 5000x
FUZZMINTIME ?= 2000x
export CGO_ENABLED ?= 0

.PHONY: test vet staticcheck unit race fuzz-smoke build demo bench

test: vet staticcheck unit race fuzz-smoke

build:
	$(GO) build -trimpath -o bin/tlswarden ./cmd/tlswarden

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

staticcheck:
	$(GO) run $(STATICCHECK) ./...

unit:
	$(GO) test -count=1 -timeout 15m ./...

# The race detector over the packages that run things concurrently. It needs
# cgo (and so gcc, which .ci/run installs). -short leaves out the largest
# fleets, which the unit run above covers without the detector's slowdown.
RACE_PKGS ?= ./scanner/... ./probes/... ./jobs/... ./metrics/... ./store/... ./api/...
race:
	CGO_ENABLED=1 $(GO) test -race -short -count=1 -timeout 15m $(RACE_PKGS)

# Runs every Fuzz target briefly; run one long with e.g.
#   go test -run '^$$' -fuzz '^FuzzReadServerFlight$$' -fuzztime 10m ./probes/hello
# Both the run and the minimizing of a new input are bounded by counts of
# executions (see FUZZTIME). A failure prints the fuzzer's output. One with a
# failing input (written under the package's testdata/fuzz) fails the target;
# one without (the fuzzing engine itself stumbling) is run once more.
fuzz-smoke:
	@out=$$(mktemp); trap 'rm -f $$out' EXIT; \
	for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f ($(FUZZTIME))"; \
	    if ! $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME) $$pkg >$$out 2>&1; then \
	      cat $$out; \
	      if grep -q 'Failing input written' $$out; then exit 1; fi; \
	      echo "fuzz $$f stopped without a failing input; once more"; \
	      $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME) $$pkg || exit 1; \
	    fi; \
	  done; \
	done

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Updates the pages' screenshots in docs/screenshots (README) by driving
# Chromium through serve --demo; make test writes them to a temporary
# folder and leaves the tree clean.
screenshots:
	TLSWARDEN_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run '^TestBrowserPages$$' ./cmd/tlswarden
