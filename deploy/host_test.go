package deploy_test

import (
	"bytes"
	"errors"
	"io"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/tlswarden/tlswarden/api"
)

// publicHosts returns the host names of the --public-url values in args.
func publicHosts(t *testing.T, args []string, env string) []string {
	t.Helper()
	var urls []string
	for i, a := range args {
		if a == "--public-url" && i+1 < len(args) {
			urls = append(urls, args[i+1])
		} else if v, ok := strings.CutPrefix(a, "--public-url="); ok {
			urls = append(urls, v)
		}
	}
	if env != "" {
		urls = append(urls, strings.Split(env, ",")...)
	}
	var hosts []string
	for _, s := range urls {
		u, err := url.Parse(strings.TrimSpace(s))
		if err != nil || u.Hostname() == "" {
			t.Fatalf("public URL %q: %v", s, err)
		}
		hosts = append(hosts, u.Hostname())
	}
	return hosts
}

// TestComposeHosts: in the compose file, Prometheus's scrape targets and a
// browser on the host (localhost:8080) reach serve with a Host it serves.
func TestComposeHosts(t *testing.T) {
	var compose struct {
		Services map[string]struct {
			Command []string `yaml:"command"`
		} `yaml:"services"`
	}
	decodeYAML(t, "compose.yaml", &compose)
	hosts := publicHosts(t, compose.Services["serve"].Command, "")
	var prom struct {
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	decodeYAML(t, "prometheus/prometheus.yml", &prom)
	var targets []string
	for _, sc := range prom.ScrapeConfigs {
		if sc.JobName == "tlswarden" {
			for _, st := range sc.StaticConfigs {
				targets = append(targets, st.Targets...)
			}
		}
	}
	if len(targets) == 0 {
		t.Fatal("no tlswarden scrape target in prometheus.yml")
	}
	for _, h := range append(targets, "localhost:8080", "127.0.0.1:8080") {
		if !api.HostAllowed(h, hosts) {
			t.Errorf("compose: serve would refuse Host %q (public URLs name %v)", h, hosts)
		}
	}
	if api.HostAllowed("rebound.attacker.example:8080", hosts) {
		t.Error("compose: serve would serve any host name")
	}
}

// TestKubernetesHosts: kubelet probes and Prometheus's pod discovery use
// the pod's IP; clients in the namespace use the Service's names.
func TestKubernetesHosts(t *testing.T) {
	data, err := os.ReadFile("kubernetes/tlswarden.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var env, service string
	var args []string
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc struct {
			Kind     string                `yaml:"kind"`
			Metadata struct{ Name string } `yaml:"metadata"`
			Data     map[string]string     `yaml:"data"`
			Spec     struct {
				Template struct {
					Spec struct {
						Containers []struct {
							Args []string `yaml:"args"`
						} `yaml:"containers"`
					} `yaml:"spec"`
				} `yaml:"template"`
			} `yaml:"spec"`
		}
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		switch doc.Kind {
		case "ConfigMap":
			env = doc.Data["TLSWARDEN_PUBLIC_URL"]
		case "Service":
			service = doc.Metadata.Name
		case "Deployment":
			for _, c := range doc.Spec.Template.Spec.Containers {
				if slices.Contains(c.Args, "serve") {
					args = c.Args
				}
			}
		}
	}
	hosts := publicHosts(t, args, env)
	for _, h := range []string{"10.244.1.7:8080", "[fd00::7]:8080", service + ":8080", service + ".tlswarden.svc:8080", service + ".tlswarden.svc.cluster.local:8080"} {
		if !api.HostAllowed(h, hosts) {
			t.Errorf("kubernetes: serve would refuse Host %q (public URLs name %v)", h, hosts)
		}
	}
	if api.HostAllowed("rebound.attacker.example", hosts) {
		t.Error("kubernetes: serve would serve any host name")
	}
}
