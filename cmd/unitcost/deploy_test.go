package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/segmentio/encoding/json"
	"gopkg.in/yaml.v3"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	sigyaml "sigs.k8s.io/yaml"

	"github.com/unitcost/unitcost/pipeline/alert"
	"github.com/unitcost/unitcost/pipeline/config"
)

const repo = "../.."

// parseCommandLine runs a container's unitcost arguments through the real command tree:
// the subcommand must exist and every flag must be one it has, with a valid value.
func parseCommandLine(args []string) error {
	root := newRoot()
	cmd, rest, err := root.Find(args)
	if err != nil {
		return err
	}
	if cmd == root {
		return fmt.Errorf("no subcommand in %q", args)
	}
	if err := cmd.ParseFlags(rest); err != nil {
		return err
	}
	if cmd.Args != nil {
		return cmd.Args(cmd, cmd.Flags().Args())
	}
	return nil
}

// loadsWith checks that deploy/unitcost.yaml loads with only the named variables set (as a
// container's environment would have them): a ${VAR} the container lacks stops it.
func loadsWith(env []string) error {
	var environ []string
	for _, e := range env {
		if !strings.HasPrefix(e, "UNITCOST_") { // settings are checked by their own tests
			environ = append(environ, e+"=x")
		}
	}
	_, err := config.LoadSources(config.Sources{File: filepath.Join(repo, "deploy/unitcost.yaml"), Environ: environ})
	return err
}

// The shipped configuration, used by compose and Kubernetes, loads without a warning;
// the example rules load with no receiver configured (each is optional).
func TestDeployConfigAndRulesLoad(t *testing.T) {
	t.Parallel()
	r, err := config.LoadSources(config.Sources{File: filepath.Join(repo, "deploy/unitcost.yaml"), Environ: []string{"CLICKHOUSE_PASSWORD=x"}})
	if err != nil || len(r.Warnings) > 0 {
		t.Fatalf("deploy/unitcost.yaml: %v %v", err, r.Warnings)
	}
	none := func(string) (string, bool) { return "", false }
	rs, notes, err := alert.LoadRulesEnv(filepath.Join(repo, "deploy/alert-rules.yaml"), none, true)
	if err != nil || len(rs.Notifiers) != 0 || len(notes) != 3 {
		t.Fatalf("deploy/alert-rules.yaml without receivers: %v %q", err, notes)
	}
	am := func(k string) (string, bool) {
		if k == "UNITCOST_ALERTMANAGER_URL" {
			return "http://alertmanager:9093", true
		}
		return "", false
	}
	if rs, _, err := alert.LoadRulesEnv(filepath.Join(repo, "deploy/alert-rules.yaml"), am, true); err != nil || len(rs.Notifiers) != 1 {
		t.Fatalf("deploy/alert-rules.yaml with Alertmanager: %v", err)
	}
}

// docker-compose.yml is valid under the Compose specification's JSON schema (a pinned copy
// in testdata/schemas), and what it wires together exists: services it depends on, named
// volumes, mounted files, and unitcost command lines the binary accepts.
func TestComposeFile(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join(repo, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	schemaFile, err := os.Open(filepath.Join(repo, "testdata/schemas/compose-spec.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer schemaFile.Close()
	sdoc, err := jsonschema.UnmarshalJSON(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("compose_spec.json", sdoc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("compose_spec.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(inst); err != nil {
		t.Fatalf("docker-compose.yml does not follow the Compose specification:\n%v", err)
	}

	services := doc["services"].(map[string]any)
	volumes, _ := doc["volumes"].(map[string]any)
	for _, want := range []string{"ingest", "process", "api", "alert", "alertmanager", "migrate", "clickhouse", "kafka"} {
		if services[want] == nil {
			t.Errorf("no %s service", want)
		}
	}
	unitcost := 0
	for name, sv := range services {
		s := sv.(map[string]any)
		switch deps := s["depends_on"].(type) {
		case map[string]any:
			for d := range deps {
				if services[d] == nil {
					t.Errorf("%s depends on %s, which is not a service", name, d)
				}
			}
		case []any:
			for _, d := range deps {
				if services[d.(string)] == nil {
					t.Errorf("%s depends on %s, which is not a service", name, d)
				}
			}
		}
		vols, _ := s["volumes"].([]any)
		for _, v := range vols {
			src, _, _ := strings.Cut(v.(string), ":")
			if strings.HasPrefix(src, "./") {
				if _, err := os.Stat(filepath.Join(repo, src)); err != nil {
					t.Errorf("%s mounts %s: %v", name, src, err)
				}
			} else if _, ok := volumes[src]; !ok {
				t.Errorf("%s mounts volume %s, which is not declared", name, src)
			}
		}
		if img, _ := s["image"].(string); !strings.Contains(img, "unitcost") {
			continue
		}
		unitcost++
		var args []string
		for _, a := range s["command"].([]any) {
			args = append(args, a.(string))
		}
		if err := parseCommandLine(args); err != nil {
			t.Errorf("service %s: unitcost %s: %v", name, strings.Join(args, " "), err)
		}
		var env []string
		if m, ok := s["environment"].(map[string]any); ok {
			for k := range m {
				env = append(env, k)
			}
		}
		if slices.Contains(args, "/etc/unitcost/unitcost.yaml") {
			if err := loadsWith(env); err != nil {
				t.Errorf("service %s cannot load its configuration with its environment %v: %v", name, env, err)
			}
		}
	}
	if unitcost < 6 {
		t.Errorf("%d unitcost services", unitcost)
	}
	composeStartOrder(t, services)
	alertEnv := services["alert"].(map[string]any)["environment"].(map[string]any)
	if !strings.Contains(fmt.Sprint(alertEnv["UNITCOST_ALERTMANAGER_URL"]), "alertmanager:9093") {
		t.Errorf("compose's alert does not send to the stack's Alertmanager: %v", alertEnv)
	}
}

// composeStartOrder checks docker-compose.yml's start order: every service that reads or
// writes the ClickHouse schema (the unitcost commands but ingest, migrate and loadgen, and
// Grafana) starts only once migrate has completed successfully and ClickHouse is healthy;
// migrate waits for ClickHouse; a service waited on as healthy has a healthcheck, one waited
// on to complete is never restarted; and the order has no cycle.
func composeStartOrder(t *testing.T, services map[string]any) {
	t.Helper()
	deps := map[string]map[string]string{} // service -> dependency -> condition
	for name, sv := range services {
		deps[name] = map[string]string{}
		switch d := sv.(map[string]any)["depends_on"].(type) {
		case map[string]any:
			for dep, v := range d {
				cond, _ := v.(map[string]any)["condition"].(string)
				deps[name][dep] = cond
			}
		case []any:
			for _, dep := range d {
				deps[name][dep.(string)] = "service_started"
			}
		}
	}
	for name, sv := range services {
		s := sv.(map[string]any)
		schema := name == "grafana"
		if img, _ := s["image"].(string); strings.Contains(img, "unitcost") {
			cmd, _ := s["command"].([]any)
			schema = len(cmd) > 0 && !slices.Contains([]any{"ingest", "migrate", "loadgen"}, cmd[0])
		}
		if schema && (deps[name]["migrate"] != "service_completed_successfully" || deps[name]["clickhouse"] != "service_healthy") {
			t.Errorf("compose: %s needs the schema but starts with %v, not after migrate completed successfully and clickhouse healthy", name, deps[name])
		}
		for dep, cond := range deps[name] {
			target, _ := services[dep].(map[string]any)
			switch cond {
			case "service_healthy":
				if target["healthcheck"] == nil {
					t.Errorf("compose: %s waits for %s to be healthy, which has no healthcheck", name, dep)
				}
			case "service_completed_successfully":
				if target["restart"] != "no" {
					t.Errorf("compose: %s waits for %s to complete, which restarts (%v)", name, dep, target["restart"])
				}
			}
		}
	}
	if deps["migrate"]["clickhouse"] != "service_healthy" {
		t.Errorf("compose: migrate starts with %v, not after clickhouse is healthy", deps["migrate"])
	}
	// No cycle: every service's dependencies resolve (depth-first, three colours).
	state := map[string]int{}
	var visit func(n string, path []string)
	visit = func(n string, path []string) {
		switch state[n] {
		case 1:
			t.Errorf("compose: depends_on cycle %v", append(path, n))
			return
		case 2:
			return
		}
		state[n] = 1
		for dep := range deps[n] {
			visit(dep, append(path, n))
		}
		state[n] = 2
	}
	for name := range services {
		visit(name, nil)
	}
}

// The Kubernetes manifests decode strictly into the Kubernetes API types (an unknown or
// misplaced field fails), and hold together: the image is the kustomization's, every pod
// runs as the image's non-root user, the alert StatefulSet has fsGroup, its headless
// governing Service, the rules ConfigMap and its receivers' variables, the API has a
// Deployment and a Service, and every unitcost command line parses.
func TestKubernetesManifests(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join(repo, "deploy/k8s/unitcost.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	var pods []struct {
		kind, name string
		spec       corev1.PodSpec
	}
	services := map[string]corev1.Service{}
	var sets []appsv1.StatefulSet
	for i := 0; ; i++ {
		var node yaml.Node
		if err := dec.Decode(&node); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		b, err := yaml.Marshal(&node)
		if err != nil {
			t.Fatal(err)
		}
		var meta struct{ APIVersion, Kind string }
		if err := sigyaml.Unmarshal(b, &meta); err != nil {
			t.Fatal(err)
		}
		strict := func(into any) {
			if err := sigyaml.UnmarshalStrict(b, into); err != nil {
				t.Fatalf("document %d (%s): %v", i, meta.Kind, err)
			}
		}
		switch meta.APIVersion + " " + meta.Kind {
		case "batch/v1 Job":
			var j batchv1.Job
			strict(&j)
			pods = append(pods, struct {
				kind, name string
				spec       corev1.PodSpec
			}{"Job", j.Name, j.Spec.Template.Spec})
		case "apps/v1 Deployment":
			var d appsv1.Deployment
			strict(&d)
			if !labelsMatch(d.Spec.Selector.MatchLabels, d.Spec.Template.Labels) {
				t.Errorf("Deployment %s: selector does not match its pods", d.Name)
			}
			pods = append(pods, struct {
				kind, name string
				spec       corev1.PodSpec
			}{"Deployment", d.Name, d.Spec.Template.Spec})
		case "apps/v1 StatefulSet":
			var s appsv1.StatefulSet
			strict(&s)
			sets = append(sets, s)
			pods = append(pods, struct {
				kind, name string
				spec       corev1.PodSpec
			}{"StatefulSet", s.Name, s.Spec.Template.Spec})
		case "v1 Service":
			var s corev1.Service
			strict(&s)
			services[s.Name] = s
		default:
			t.Fatalf("document %d: unexpected %s %s", i, meta.APIVersion, meta.Kind)
		}
	}
	header := string(raw[:bytes.Index(raw, []byte("apiVersion"))])
	names := map[string]bool{}
	for _, p := range pods {
		names[p.name] = true
		sc := p.spec.SecurityContext
		if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser != 65532 {
			t.Errorf("%s %s does not run as the image's non-root user 65532", p.kind, p.name)
		}
		for _, c := range p.spec.Containers {
			if c.Image != "unitcost" {
				t.Errorf("%s %s: image %q is not the kustomization's \"unitcost\"", p.kind, p.name, c.Image)
			}
			if err := parseCommandLine(c.Args); err != nil {
				t.Errorf("%s %s: unitcost %s: %v", p.kind, p.name, strings.Join(c.Args, " "), err)
			}
			var env []string
			for _, e := range c.Env {
				if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || e.ValueFrom.SecretKeyRef.Optional == nil || !*e.ValueFrom.SecretKeyRef.Optional {
					env = append(env, e.Name)
				}
			}
			if err := loadsWith(env); err != nil {
				t.Errorf("%s %s cannot load its configuration with its environment %v: %v", p.kind, p.name, env, err)
			}
			for _, e := range c.Env {
				if r := e.ValueFrom; r != nil && r.SecretKeyRef != nil && !strings.Contains(header, r.SecretKeyRef.Key) {
					t.Errorf("%s %s: secret key %s is not in the instructions", p.kind, p.name, r.SecretKeyRef.Key)
				}
			}
		}
		for _, v := range p.spec.Volumes {
			if v.ConfigMap != nil && !strings.Contains(header, "create configmap "+v.ConfigMap.Name+" ") {
				t.Errorf("%s %s: ConfigMap %s is not in the instructions", p.kind, p.name, v.ConfigMap.Name)
			}
		}
	}
	for _, want := range []string{"unitcost-migrate", "unitcost-ingest", "unitcost-process", "unitcost-api", "unitcost-alert"} {
		if !names[want] {
			t.Errorf("no %s", want)
		}
	}
	if _, ok := services["unitcost-api"]; !ok {
		t.Error("no Service for the API")
	}
	for _, s := range sets {
		gov, ok := services[s.Spec.ServiceName]
		if !ok || gov.Spec.ClusterIP != corev1.ClusterIPNone {
			t.Errorf("StatefulSet %s: governing Service %q missing or not headless", s.Name, s.Spec.ServiceName)
		}
		sc := s.Spec.Template.Spec.SecurityContext
		if sc == nil || sc.FSGroup == nil || *sc.FSGroup != 65532 {
			t.Errorf("StatefulSet %s: no fsGroup 65532 for its volume", s.Name)
		}
		var env []string
		for _, e := range s.Spec.Template.Spec.Containers[0].Env {
			env = append(env, e.Name)
		}
		for _, v := range []string{"UNITCOST_ALERT_WEBHOOK_URL", "UNITCOST_SLACK_WEBHOOK_URL", "UNITCOST_ALERTMANAGER_URL"} {
			if !slices.Contains(env, v) {
				t.Errorf("StatefulSet %s does not set %s", s.Name, v)
			}
		}
	}
	var kust struct {
		Resources []string `json:"resources"`
		Images    []struct {
			Name, NewName, NewTag string
		} `json:"images"`
	}
	kb, err := os.ReadFile(filepath.Join(repo, "deploy/k8s/kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sigyaml.Unmarshal(kb, &kust); err != nil || len(kust.Images) != 1 || kust.Images[0].Name != "unitcost" {
		t.Fatalf("kustomization: %v %+v", err, kust)
	}
	for _, r := range kust.Resources {
		if _, err := os.Stat(filepath.Join(repo, "deploy/k8s", r)); err != nil {
			t.Errorf("kustomization resource %s: %v", r, err)
		}
	}
}

func labelsMatch(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return len(sel) > 0
}
