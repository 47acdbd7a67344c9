// Package deploy_test validates the deployment files with the projects'
// own loaders, since no container engine or cluster runs in CI: the
// Kustomize base and overlays are built with Kustomize's API and every
// document is decoded strictly into the Kubernetes API types (an unknown or
// misspelled field fails), and docker-compose.yml is loaded with the
// compose-spec loader. Then what the files promise is checked: probes,
// resources, disruption budgets, autoscalers, the network policies.
package deploy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// objects are the documents of one build, decoded.
type objects struct {
	deployments  map[string]*appsv1.Deployment
	statefulSets map[string]*appsv1.StatefulSet
	services     map[string]*corev1.Service
	configMaps   map[string]*corev1.ConfigMap
	secrets      map[string]*corev1.Secret
	jobs         map[string]*batchv1.Job
	pdbs         map[string]*policyv1.PodDisruptionBudget
	hpas         map[string]*autoscalingv2.HorizontalPodAutoscaler
	policies     map[string]*networkingv1.NetworkPolicy
}

// build runs kustomize on dir and decodes every document strictly.
func build(t *testing.T, dir string) *objects {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	res, err := k.Run(filesys.MakeFsOnDisk(), dir)
	require.NoError(t, err, "kustomize build %s", dir)
	o := &objects{
		deployments: map[string]*appsv1.Deployment{}, statefulSets: map[string]*appsv1.StatefulSet{},
		services: map[string]*corev1.Service{}, configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{},
		jobs: map[string]*batchv1.Job{}, pdbs: map[string]*policyv1.PodDisruptionBudget{},
		hpas: map[string]*autoscalingv2.HorizontalPodAutoscaler{}, policies: map[string]*networkingv1.NetworkPolicy{},
	}
	for _, r := range res.Resources() {
		doc, err := r.AsYAML()
		require.NoError(t, err)
		id := r.GetKind() + "/" + r.GetName()
		var into any
		switch r.GetKind() {
		case "Deployment":
			into = put(o.deployments, r.GetName(), &appsv1.Deployment{})
		case "StatefulSet":
			into = put(o.statefulSets, r.GetName(), &appsv1.StatefulSet{})
		case "Service":
			into = put(o.services, r.GetName(), &corev1.Service{})
		case "ConfigMap":
			into = put(o.configMaps, r.GetName(), &corev1.ConfigMap{})
		case "Secret":
			into = put(o.secrets, r.GetName(), &corev1.Secret{})
		case "Job":
			into = put(o.jobs, r.GetName(), &batchv1.Job{})
		case "PodDisruptionBudget":
			into = put(o.pdbs, r.GetName(), &policyv1.PodDisruptionBudget{})
		case "HorizontalPodAutoscaler":
			into = put(o.hpas, r.GetName(), &autoscalingv2.HorizontalPodAutoscaler{})
		case "NetworkPolicy":
			into = put(o.policies, r.GetName(), &networkingv1.NetworkPolicy{})
		default:
			t.Fatalf("%s %s: a kind this test does not check", dir, id)
		}
		require.NoError(t, yaml.UnmarshalStrict(doc, into), "%s: %s does not decode strictly", dir, id)
	}
	return o
}

func put[T any](m map[string]*T, name string, v *T) *T {
	m[name] = v
	return v
}

// targets are the values of --target a deployment may run.
var targets = []string{"projects", "ingestion", "query", "analysis", "gateway", "migrate"}

func TestKubernetesBase(t *testing.T) {
	o := build(t, "kubernetes/base")
	checkServices(t, o)
	require.Contains(t, o.statefulSets, "postgres")
	require.Contains(t, o.services, "postgres")
	require.Contains(t, o.secrets["devsmith-secrets"].StringData["DATABASE_URL"], "@postgres:5432/")
}

func TestKubernetesExternalPostgres(t *testing.T) {
	o := build(t, "kubernetes/overlays/external-postgres")
	checkServices(t, o)
	require.NotContains(t, o.statefulSets, "postgres")
	require.NotContains(t, o.services, "postgres")
	require.NotContains(t, o.policies, "devsmith-postgres")
	url := o.secrets["devsmith-secrets"].StringData["DATABASE_URL"]
	require.NotContains(t, url, "@postgres:", "the overlay's DATABASE_URL must point outside the cluster")
	require.NotEmpty(t, o.secrets["devsmith-secrets"].StringData["DEVSMITH_SERVICE_TOKEN"], "the base's other secrets stay")
}

// checkServices checks what the base promises for each service, with or
// without the bundled PostgreSQL.
func checkServices(t *testing.T, o *objects) {
	t.Helper()
	var ran []string
	for name, d := range o.deployments {
		t.Run(name, func(t *testing.T) {
			sel, err := metav1Selector(d.Spec.Selector.MatchLabels)
			require.NoError(t, err)
			require.True(t, sel.Matches(labels.Set(d.Spec.Template.Labels)), "the selector matches the pods")
			require.Len(t, d.Spec.Template.Spec.Containers, 1)
			c := d.Spec.Template.Spec.Containers[0]
			target := targetOf(t, c.Args)
			ran = append(ran, target)
			require.NotNil(t, c.ReadinessProbe, "readiness probe")
			require.NotNil(t, c.LivenessProbe, "liveness probe")
			require.False(t, c.Resources.Requests.Cpu().IsZero(), "cpu request")
			require.False(t, c.Resources.Requests.Memory().IsZero(), "memory request")
			require.False(t, c.Resources.Limits.Memory().IsZero(), "memory limit")
			checkEnvFrom(t, o, c.EnvFrom)
			for _, p := range c.Ports {
				pr := c.ReadinessProbe
				if pr.GRPC != nil {
					require.Equal(t, p.ContainerPort, pr.GRPC.Port, "the readiness probe asks the service's port")
				}
			}
			// Stateless: a disruption budget and an autoscaler each.
			pdb := o.pdbs[d.Name]
			require.NotNil(t, pdb, "PodDisruptionBudget %s", d.Name)
			ps, err := metav1Selector(pdb.Spec.Selector.MatchLabels)
			require.NoError(t, err)
			require.True(t, ps.Matches(labels.Set(d.Spec.Template.Labels)), "the budget selects the pods")
			hpa := o.hpas[d.Name]
			require.NotNil(t, hpa, "HorizontalPodAutoscaler %s", d.Name)
			require.Equal(t, "Deployment", hpa.Spec.ScaleTargetRef.Kind)
			require.Equal(t, d.Name, hpa.Spec.ScaleTargetRef.Name)
			require.LessOrEqual(t, *hpa.Spec.MinReplicas, hpa.Spec.MaxReplicas)
			// Its Service selects its pods and exposes its port.
			svc := o.services[target]
			require.NotNil(t, svc, "Service %s", target)
			require.True(t, labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)), "Service %s selects the pods", target)
			require.Equal(t, c.Ports[0].ContainerPort, svc.Spec.Ports[0].TargetPort.IntVal)
		})
	}
	slices.Sort(ran)
	require.Equal(t, []string{"analysis", "gateway", "ingestion", "projects", "query"}, ran)

	job := o.jobs["devsmith-migrate"]
	require.NotNil(t, job, "the migration Job")
	require.Equal(t, "migrate", targetOf(t, job.Spec.Template.Spec.Containers[0].Args))
	checkEnvFrom(t, o, job.Spec.Template.Spec.Containers[0].EnvFrom)

	// Only the gateway accepts traffic from anywhere; the other services
	// only from DevSmith's own pods, and every DevSmith pod is selected by
	// the default deny.
	deny := o.policies["devsmith-default-deny"]
	require.NotNil(t, deny)
	require.Empty(t, deny.Spec.Ingress)
	for name, d := range o.deployments {
		podLabels := labels.Set(d.Spec.Template.Labels)
		dsel, err := metav1Selector(deny.Spec.PodSelector.MatchLabels)
		require.NoError(t, err)
		require.True(t, dsel.Matches(podLabels), "the default deny selects %s", name)
		open := false
		for _, p := range o.policies {
			sel, err := policySelector(p)
			require.NoError(t, err)
			if !sel.Matches(podLabels) {
				continue
			}
			for _, in := range p.Spec.Ingress {
				if len(in.From) == 0 {
					open = true
				}
				for _, from := range in.From {
					require.Nil(t, from.IPBlock, "%s: only pod selectors", p.Name)
					require.NotNil(t, from.PodSelector, "%s: only pod selectors", p.Name)
				}
			}
		}
		require.Equal(t, name == "devsmith-gateway", open, "%s reachable from anywhere", name)
	}
}

func metav1Selector(m map[string]string) (labels.Selector, error) {
	if len(m) == 0 {
		return nil, fmt.Errorf("empty selector")
	}
	return labels.SelectorFromSet(m), nil
}

func policySelector(p *networkingv1.NetworkPolicy) (labels.Selector, error) {
	s := labels.NewSelector()
	for k, v := range p.Spec.PodSelector.MatchLabels {
		r, err := labels.NewRequirement(k, "=", []string{v})
		if err != nil {
			return nil, err
		}
		s = s.Add(*r)
	}
	for _, e := range p.Spec.PodSelector.MatchExpressions {
		if e.Operator != "In" {
			return nil, fmt.Errorf("%s: operator %s", p.Name, e.Operator)
		}
		r, err := labels.NewRequirement(e.Key, "in", e.Values)
		if err != nil {
			return nil, err
		}
		s = s.Add(*r)
	}
	return s, nil
}

func targetOf(t *testing.T, args []string) string {
	t.Helper()
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--target="); ok {
			require.Contains(t, targets, v)
			return v
		}
	}
	t.Fatalf("no --target in %q", args)
	return ""
}

func checkEnvFrom(t *testing.T, o *objects, from []corev1.EnvFromSource) {
	t.Helper()
	require.NotEmpty(t, from)
	for _, f := range from {
		switch {
		case f.ConfigMapRef != nil:
			require.Contains(t, o.configMaps, f.ConfigMapRef.Name)
		case f.SecretRef != nil:
			require.Contains(t, o.secrets, f.SecretRef.Name)
		}
	}
}

// TestCompose loads docker-compose.yml as `docker compose` would (the
// compose-spec loader, with its schema) with the env file it documents,
// and checks the services, their health checks and start order.
func TestCompose(t *testing.T) {
	dir := t.TempDir()
	compose, err := os.ReadFile("../docker-compose.yml")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "docker-compose.yml"), compose, 0o644))
	// The Dockerfile's build context must exist for the loader.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644))
	load := func() (*types.Project, error) {
		opts, err := cli.NewProjectOptions([]string{filepath.Join(dir, "docker-compose.yml")},
			cli.WithWorkingDirectory(dir), cli.WithEnvFiles(), cli.WithDotEnv, cli.WithName("devsmith"))
		require.NoError(t, err)
		return opts.LoadProject(context.Background())
	}
	// Without the env file the secrets are missing, and the loader says so.
	_, err = load()
	require.ErrorContains(t, err, "set DEVSMITH_SERVICE_TOKEN in .env")
	require.ErrorContains(t, err, "set POSTGRES_PASSWORD in .env")

	example, err := os.ReadFile("../.env.example")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".env"), example, 0o600))
	p, err := load()
	require.NoError(t, err, "docker compose config")

	names := p.ServiceNames()
	slices.Sort(names)
	require.Equal(t, []string{"analysis", "gateway", "ingestion", "migrate", "postgres", "projects", "query"}, names)
	for _, name := range names {
		s := p.Services[name]
		if name == "migrate" {
			require.Equal(t, "no", s.Restart)
			continue
		}
		require.NotNil(t, s.HealthCheck, "%s has a health check", name)
		require.NotEmpty(t, s.HealthCheck.Test, "%s health check", name)
		if name == "postgres" {
			continue
		}
		require.Contains(t, targets, strings.TrimPrefix(s.Command[0], "--target="), name)
		require.Equal(t, "service_completed_successfully", s.DependsOn["migrate"].Condition, "%s starts after the migrations", name)
		require.NotEmpty(t, s.Environment["DEVSMITH_SERVICE_TOKEN"], "%s has the service token from the env file", name)
	}
	for _, name := range []string{"ingestion", "query", "analysis"} {
		require.Equal(t, "service_healthy", p.Services["gateway"].DependsOn[name].Condition, "the gateway waits for %s", name)
	}
	require.Equal(t, "service_healthy", p.Services["migrate"].DependsOn["postgres"].Condition)
	require.Contains(t, p.Volumes, "pgdata")
}

// TestMonitoring: the alert rules and the Grafana dashboard parse, and name
// only metrics that docs/operations.md lists (which its tests scrape from
// the platform).
func TestMonitoring(t *testing.T) {
	doc, err := os.ReadFile("../docs/operations.md")
	require.NoError(t, err)
	known := map[string]bool{}
	for _, m := range metricName.FindAllString(string(doc), -1) {
		known[m] = true
	}
	require.Contains(t, known, "devsmith_ingest_entries_total")
	check := func(file, expr string) {
		t.Helper()
		for _, m := range metricName.FindAllString(expr, -1) {
			base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_count"), "_sum")
			require.True(t, known[m] || known[base], "%s: %s is not a metric of docs/operations.md", file, m)
		}
	}

	raw, err := os.ReadFile("prometheus/alerts.yaml")
	require.NoError(t, err)
	var rules struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Alert       string            `json:"alert"`
				Expr        string            `json:"expr"`
				For         string            `json:"for"`
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
			} `json:"rules"`
		} `json:"groups"`
	}
	require.NoError(t, yaml.UnmarshalStrict(raw, &rules))
	require.NotEmpty(t, rules.Groups)
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			require.NotEmpty(t, r.Alert)
			require.NotEmpty(t, r.Annotations["summary"], r.Alert)
			require.Contains(t, []string{"warning", "critical"}, r.Labels["severity"], r.Alert)
			check("alerts.yaml "+r.Alert, r.Expr)
		}
	}

	raw, err = os.ReadFile("grafana/devsmith.json")
	require.NoError(t, err)
	var dash struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(raw, &dash))
	require.NotEmpty(t, dash.Panels)
	for _, p := range dash.Panels {
		require.NotEmpty(t, p.Targets, p.Title)
		for _, tg := range p.Targets {
			check("devsmith.json "+p.Title, tg.Expr)
		}
	}
}

var metricName = regexp.MustCompile(`\bdevsmith_[a-z_]+[a-z]\b`)
