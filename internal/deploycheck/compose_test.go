package deploycheck

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const (
	composePath    = "../../docker-compose.yml"
	dockerfilePath = "../../Dockerfile"
	goModPath      = "../../go.mod"
)

// composeChecks run against docker-compose.yml; each must hold.
var composeChecks = []struct {
	name  string
	check func(*stack) []error
}{
	{"image or build, never latest", checkImageOrBuild},
	{"images pinned to releases", checkImagesPinned},
	{"host ports unique", checkHostPorts},
	{"documented ports published", checkDocumentedPorts},
	{"depends_on targets and conditions", checkDependsOn},
	{"minio credentials agree", checkMinioCredentials},
	{"postgres credentials agree", checkPostgresCredentials},
	{"schema setup covers both databases", checkSchemaSetup},
	{"temporal address agrees", checkTemporalAddresses},
	{"lake URL matches bucket and endpoint", checkLake},
	{"search attributes registered", checkSearchAttributes},
	{"volumes declared and present", checkVolumes},
	{"credentials come from variables", checkCredentialsFromVariables},
	{"serving tokens have no default", checkTokensRequired},
	{"worker scales", checkWorkerScales},
	{"serve reachable and healthchecked", checkServe},
	{"temporal dynamic config mounted", checkTemporalDynamicConfig},
}

func mustLoad(t *testing.T) *stack {
	t.Helper()
	s, err := loadStack(composePath, operatorEnv)
	if err != nil {
		t.Fatalf("load %s: %v", composePath, err)
	}
	return s
}

func mustDockerfile(t *testing.T) dockerfile {
	t.Helper()
	text, err := os.ReadFile(dockerfilePath)
	if err != nil {
		t.Fatal(err)
	}
	df, err := parseDockerfile(string(text))
	if err != nil {
		t.Fatalf("parse %s: %v", dockerfilePath, err)
	}
	return df
}

func goModGoVersion(t *testing.T) string {
	t.Helper()
	text, err := os.ReadFile(goModPath)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go ([0-9.]+)\s*$`).FindSubmatch(text)
	if m == nil {
		t.Fatalf("%s has no go directive", goModPath)
	}
	return string(m[1])
}

func reportErrors(t *testing.T, errs []error) {
	t.Helper()
	for _, err := range errs {
		t.Error(err)
	}
}

func TestComposeStack(t *testing.T) {
	s := mustLoad(t)
	for _, c := range composeChecks {
		t.Run(c.name, func(t *testing.T) {
			reportErrors(t, c.check(s))
		})
	}
}

func TestDockerfile(t *testing.T) {
	df := mustDockerfile(t)
	reportErrors(t, checkDockerfile(df, goModGoVersion(t)))
	t.Run("compose services build it", func(t *testing.T) {
		reportErrors(t, checkGranaryImage(mustLoad(t), df))
	})
}

// TestComposeStackShape pins down what the checks above rely on finding, so
// that a check cannot pass by finding nothing to look at.
func TestComposeStackShape(t *testing.T) {
	c := mustLoad(t).resolved
	for _, repo := range []string{"postgres", "temporalio/server", "temporalio/ui", "minio/minio", "minio/mc"} {
		if _, _, err := c.byImage(repo); err != nil {
			t.Error(err)
		}
	}
	for _, key := range []string{"SQL_HOST", "GRANARY_SEARCH_ATTRIBUTES"} {
		if _, _, err := c.byImageAndEnv("temporalio/admin-tools", key); err != nil {
			t.Error(err)
		}
	}
	for _, sub := range []string{"worker", "serve"} {
		if _, _, err := c.granaryCommand(sub); err != nil {
			t.Error(err)
		}
	}
	if len(c.Volumes) == 0 {
		t.Error("no named volumes: postgres and minio data would not survive `docker compose down`")
	}
}

// mutation breaks one thing in a freshly loaded stack; the named check must
// then report an error containing want.
type mutation struct {
	name   string
	mutate func(t *testing.T, s *stack)
	check  func(*stack) []error
	want   string
}

func svc(t *testing.T, s *stack, name string) *service {
	t.Helper()
	v, ok := s.resolved.Services[name]
	if !ok {
		t.Fatalf("no service %s in %s", name, composePath)
	}
	return v
}

func roleByImage(t *testing.T, s *stack, repo string) *service {
	t.Helper()
	_, v, err := s.resolved.byImage(repo)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func role(t *testing.T, s *stack, find func() (string, *service, error)) (string, *service) {
	t.Helper()
	n, v, err := find()
	if err != nil {
		t.Fatal(err)
	}
	return n, v
}

func TestChecksCatchBrokenStacks(t *testing.T) {
	worker := func(s *stack) func() (string, *service, error) {
		return func() (string, *service, error) { return s.resolved.granaryCommand("worker") }
	}
	serve := func(s *stack) func() (string, *service, error) {
		return func() (string, *service, error) { return s.resolved.granaryCommand("serve") }
	}
	saStep := func(s *stack) func() (string, *service, error) {
		return func() (string, *service, error) {
			return s.resolved.byImageAndEnv("temporalio/admin-tools", "GRANARY_SEARCH_ATTRIBUTES")
		}
	}
	schemaStep := func(s *stack) func() (string, *service, error) {
		return func() (string, *service, error) {
			return s.resolved.byImageAndEnv("temporalio/admin-tools", "SQL_HOST")
		}
	}

	cases := []mutation{
		{
			name: "two services publish the same host port",
			mutate: func(t *testing.T, s *stack) {
				_, v := role(t, s, serve(s))
				v.Ports = append(v.Ports, portSpec{short: "127.0.0.1:9000:9100"})
			},
			check: checkHostPorts, want: "host port 9000/tcp is published by both",
		},
		{
			name: "one service publishes a port twice",
			mutate: func(t *testing.T, s *stack) {
				m := roleByImage(t, s, "minio/minio")
				m.Ports = append(m.Ports, portSpec{long: &portLong{Target: 9002, Published: "9001"}})
			},
			check: checkHostPorts, want: "9001/tcp",
		},
		{
			name: "documented port moved",
			mutate: func(t *testing.T, s *stack) {
				roleByImage(t, s, "temporalio/ui").Ports = []portSpec{{short: "8081:8080"}}
			},
			check: checkDocumentedPorts, want: "want host port 8080",
		},
		{
			name: "bucket step logs in with another password",
			mutate: func(t *testing.T, s *stack) {
				roleByImage(t, s, "minio/mc").Environment["MINIO_ROOT_PASSWORD"] = "not-the-same-password"
			},
			check: checkMinioCredentials, want: "logs in to MinIO",
		},
		{
			name: "worker has another secret key",
			mutate: func(t *testing.T, s *stack) {
				_, v := role(t, s, worker(s))
				v.Environment["AWS_SECRET_ACCESS_KEY"] = "other"
			},
			check: checkMinioCredentials, want: "AWS_SECRET_ACCESS_KEY",
		},
		{
			name: "minio password too short",
			mutate: func(t *testing.T, s *stack) {
				roleByImage(t, s, "minio/minio").Environment["MINIO_ROOT_PASSWORD"] = "short"
			},
			check: checkMinioCredentials, want: "8 characters",
		},
		{
			name: "temporal has another postgres password",
			mutate: func(t *testing.T, s *stack) {
				roleByImage(t, s, "temporalio/server").Environment["POSTGRES_PWD"] = "changed"
			},
			check: checkPostgresCredentials, want: "POSTGRES_PWD",
		},
		{
			name: "schema step uses another user",
			mutate: func(t *testing.T, s *stack) {
				_, v := role(t, s, schemaStep(s))
				v.Environment["SQL_USER"] = "admin"
			},
			check: checkPostgresCredentials, want: "SQL_USER",
		},
		{
			name: "schema step and server disagree on the visibility database",
			mutate: func(t *testing.T, s *stack) {
				roleByImage(t, s, "temporalio/server").Environment["VISIBILITY_DBNAME"] = "visibility"
			},
			check: checkPostgresCredentials, want: "VISIBILITY_DBNAME",
		},
		{
			name: "server no longer waits for the schema",
			mutate: func(t *testing.T, s *stack) {
				n, _ := role(t, s, schemaStep(s))
				roleByImage(t, s, "temporalio/server").DependsOn[n] = dependency{Condition: "service_started"}
			},
			check: checkPostgresCredentials, want: "service_completed_successfully",
		},
		{
			name:   "dependency on a missing service",
			mutate: func(t *testing.T, s *stack) { svc(t, s, "temporal-ui").DependsOn["elasticsearch"] = dependency{} },
			check:  checkDependsOn, want: "elasticsearch, which is not a service",
		},
		{
			name: "unknown condition",
			mutate: func(t *testing.T, s *stack) {
				roleByImage(t, s, "temporalio/ui").DependsOn["temporal"] = dependency{Condition: "service_ready"}
			},
			check: checkDependsOn, want: `condition "service_ready"`,
		},
		{
			name: "waiting for health of a service without healthcheck",
			mutate: func(t *testing.T, s *stack) {
				roleByImage(t, s, "temporalio/server").Healthcheck = nil
			},
			check: checkDependsOn, want: "has no healthcheck",
		},
		{
			name: "waiting for a long-running service to complete",
			mutate: func(t *testing.T, s *stack) {
				roleByImage(t, s, "minio/mc").Restart = "unless-stopped"
			},
			check: checkDependsOn, want: "restart: unless-stopped",
		},
		{
			name: "dependency cycle",
			mutate: func(t *testing.T, s *stack) {
				roleByImage(t, s, "postgres").DependsOn = dependsOn{"temporal": {Condition: "service_started"}}
			},
			check: checkDependsOn, want: "depends_on cycle",
		},
		{
			name:   "image on latest",
			mutate: func(t *testing.T, s *stack) { roleByImage(t, s, "temporalio/ui").Image = "temporalio/ui:latest" },
			check:  checkImageOrBuild, want: "latest",
		},
		{
			name:   "image without tag",
			mutate: func(t *testing.T, s *stack) { roleByImage(t, s, "postgres").Image = "postgres" },
			check:  checkImageOrBuild, want: "has no tag",
		},
		{
			name: "service with neither image nor build",
			mutate: func(t *testing.T, s *stack) {
				_, v := role(t, s, worker(s))
				v.Build = nil
			},
			check: checkImageOrBuild, want: "neither image nor build",
		},
		{
			name:   "floating major tag",
			mutate: func(t *testing.T, s *stack) { roleByImage(t, s, "postgres").Image = "postgres:16" },
			check:  checkImagesPinned, want: "not pinned",
		},
		{
			name: "lake names another bucket",
			mutate: func(t *testing.T, s *stack) {
				_, v := role(t, s, serve(s))
				v.Environment["GRANARY_LAKE"] = "s3://features/lake?endpoint=minio:9000&secure=false"
			},
			check: checkLake, want: `names bucket "features"`,
		},
		{
			name: "lake on the console port",
			mutate: func(t *testing.T, s *stack) {
				_, v := role(t, s, worker(s))
				v.Environment["GRANARY_LAKE"] = "s3://granary/lake?endpoint=minio:9001&secure=false"
			},
			check: checkLake, want: `endpoint is "minio:9001"`,
		},
		{
			name: "worker talks to the wrong Temporal port",
			mutate: func(t *testing.T, s *stack) {
				_, v := role(t, s, worker(s))
				v.Environment["GRANARY_TEMPORAL_ADDRESS"] = "temporal:7234"
			},
			check: checkTemporalAddresses, want: `"temporal:7234"`,
		},
		{
			name: "UI talks to localhost",
			mutate: func(t *testing.T, s *stack) {
				roleByImage(t, s, "temporalio/ui").Environment["TEMPORAL_ADDRESS"] = "127.0.0.1:7233"
			},
			check: checkTemporalAddresses, want: "TEMPORAL_ADDRESS",
		},
		{
			name: "search-attribute step forgets the address",
			mutate: func(t *testing.T, s *stack) {
				_, v := role(t, s, saStep(s))
				delete(v.Environment, "TEMPORAL_ADDRESS")
			},
			check: checkTemporalAddresses, want: "does not say where Temporal is",
		},
		{
			name: "server listens on loopback",
			mutate: func(t *testing.T, s *stack) {
				delete(roleByImage(t, s, "temporalio/server").Environment, "BIND_ON_IP")
			},
			check: checkTemporalAddresses, want: "BIND_ON_IP",
		},
		{
			name: "a search attribute is missing",
			mutate: func(t *testing.T, s *stack) {
				_, v := role(t, s, saStep(s))
				v.Environment["GRANARY_SEARCH_ATTRIBUTES"] = "GranaryKind=Keyword GranaryName=Keyword"
			},
			check: checkSearchAttributes, want: "GranaryVersion",
		},
		{
			name: "a search attribute has the wrong type",
			mutate: func(t *testing.T, s *stack) {
				_, v := role(t, s, saStep(s))
				v.Environment["GRANARY_SEARCH_ATTRIBUTES"] = "GranaryKind=Text GranaryName=Keyword GranaryVersion=Keyword"
			},
			check: checkSearchAttributes, want: "GranaryKind must be registered as Keyword",
		},
		{
			name: "attributes registered in another namespace",
			mutate: func(t *testing.T, s *stack) {
				_, v := role(t, s, saStep(s))
				v.Environment["GRANARY_NAMESPACE"] = "ml"
			},
			check: checkSearchAttributes, want: `registers "ml"`,
		},
		{
			name: "schema step runs the wrong script",
			mutate: func(t *testing.T, s *stack) {
				_, v := role(t, s, schemaStep(s))
				v.Volumes = []volumeMount{{short: "./deploy/temporal/setup-namespace.sh:/granary/setup-schema.sh:ro"}}
			},
			check: checkSchemaSetup, want: `never mentions "temporal-sql-tool"`,
		},
		{
			name: "dynamic config path outside the mount",
			mutate: func(t *testing.T, s *stack) {
				roleByImage(t, s, "temporalio/server").Environment["DYNAMIC_CONFIG_FILE_PATH"] = "/etc/temporal/config/docker.yaml"
			},
			check: checkTemporalDynamicConfig, want: "not inside any bind mount",
		},
		{
			name: "dynamic config file missing",
			mutate: func(t *testing.T, s *stack) {
				roleByImage(t, s, "temporalio/server").Environment["DYNAMIC_CONFIG_FILE_PATH"] = "/etc/temporal/config/dynamicconfig/missing.yaml"
			},
			check: checkTemporalDynamicConfig, want: "missing.yaml",
		},
		{
			name:   "undeclared named volume",
			mutate: func(t *testing.T, s *stack) { delete(s.resolved.Volumes, "minio-data") },
			check:  checkVolumes, want: `volume "minio-data", which is not declared`,
		},
		{
			name: "missing bind-mount source",
			mutate: func(t *testing.T, s *stack) {
				_, v := role(t, s, schemaStep(s))
				v.Volumes = []volumeMount{{short: "./deploy/temporal/no-such-script.sh:/granary/setup-schema.sh:ro"}}
			},
			check: checkVolumes, want: "no-such-script.sh",
		},
		{
			name: "hard-coded password",
			mutate: func(t *testing.T, s *stack) {
				s.raw.Services["postgres"].Environment["POSTGRES_PASSWORD"] = "hunter22"
			},
			check: checkCredentialsFromVariables, want: "POSTGRES_PASSWORD is written as a literal",
		},
		{
			name: "worker pinned to a host port",
			mutate: func(t *testing.T, s *stack) {
				_, v := role(t, s, worker(s))
				v.Ports = []portSpec{{short: "9090:9090"}}
			},
			check: checkWorkerScales, want: "a second replica could not bind",
		},
		{
			name: "serve bound to loopback",
			mutate: func(t *testing.T, s *stack) {
				_, v := role(t, s, serve(s))
				v.Command = stringList{"serve", "--addr", "127.0.0.1:8090"}
			},
			check: checkServe, want: "use 0.0.0.0",
		},
		{
			name: "worker notifies another serving address",
			mutate: func(t *testing.T, s *stack) {
				_, v := role(t, s, worker(s))
				v.Environment["GRANARY_SERVE_NOTIFY"] = "http://granary-serve:9999"
			},
			check: checkServe, want: "GRANARY_SERVE_NOTIFY",
		},
		{
			name: "worker's notify token is not a serving token",
			mutate: func(t *testing.T, s *stack) {
				_, v := role(t, s, worker(s))
				v.Environment["GRANARY_SERVE_NOTIFY_TOKEN"] = "stale-token"
			},
			check: checkServe, want: "GRANARY_SERVE_NOTIFY_TOKEN",
		},
		{
			name: "serving token falls back to a fixed default",
			mutate: func(t *testing.T, s *stack) {
				s.raw.Services["granary-serve"].Environment["GRANARY_SERVE_TOKENS"] = "${GRANARY_SERVE_TOKENS:-granary-dev-token}"
			},
			check: checkTokensRequired, want: "refuses to start without a token",
		},
		{
			name: "notify token written as a literal",
			mutate: func(t *testing.T, s *stack) {
				for _, v := range s.raw.Services {
					if _, ok := v.Environment["GRANARY_SERVE_NOTIFY_TOKEN"]; ok {
						v.Environment["GRANARY_SERVE_NOTIFY_TOKEN"] = notifySecret
					}
				}
			},
			check: checkTokensRequired, want: "GRANARY_SERVE_NOTIFY_TOKEN",
		},
		{
			name: "serving token too short to be a secret",
			mutate: func(t *testing.T, s *stack) {
				_, v := role(t, s, serve(s))
				v.Environment["GRANARY_SERVE_TOKENS"] = "worker:" + notifySecret + ",web:s3cret"
			},
			check: checkServe, want: "at least 32",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := mustLoad(t) // a fresh copy: mutations must not leak
			if errs := tc.check(s); len(errs) != 0 {
				t.Fatalf("check already fails before the mutation: %v", errors.Join(errs...))
			}
			tc.mutate(t, s)
			errs := tc.check(s)
			if len(errs) == 0 {
				t.Fatalf("check passed after %q; it should have reported %q", tc.name, tc.want)
			}
			if !containsError(errs, tc.want) {
				t.Fatalf("check reported %v; want an error containing %q", errors.Join(errs...), tc.want)
			}
		})
	}
}

func containsError(errs []error, substr string) bool {
	for _, err := range errs {
		if strings.Contains(err.Error(), substr) {
			return true
		}
	}
	return false
}

func TestDockerfileChecksCatchBreakage(t *testing.T) {
	original, err := os.ReadFile(dockerfilePath)
	if err != nil {
		t.Fatal(err)
	}
	goVersion := goModGoVersion(t)
	cases := []struct{ name, old, new, want string }{
		{"older Go", "golang:1.26.8-bookworm", "golang:1.25.3-bookworm", "want a golang:1.26.x image"},
		{"builder on latest", "golang:1.26.8-bookworm", "golang:latest", "explicit tag other than latest"},
		{"builds another package", "./cmd/granary", "./cmd/other", `lacks "./cmd/granary"`},
		{"cgo left on", "CGO_ENABLED=0", "CGO_ENABLED=1", "CGO_ENABLED=0"},
		{"runs as root", "USER nonroot:nonroot", "USER root", "runs as root"},
		{"wrong entrypoint", `ENTRYPOINT ["/granary"]`, `ENTRYPOINT ["/bin/granary"]`, "ENTRYPOINT"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(string(original), tc.old) {
				t.Fatalf("%s no longer contains %q; update this test", dockerfilePath, tc.old)
			}
			df, err := parseDockerfile(strings.ReplaceAll(string(original), tc.old, tc.new))
			if err != nil {
				t.Fatal(err)
			}
			errs := checkDockerfile(df, goVersion)
			if !containsError(errs, tc.want) {
				t.Fatalf("got %v; want an error containing %q", errors.Join(errs...), tc.want)
			}
		})
	}
	t.Run("go.mod newer than the builder", func(t *testing.T) {
		errs := checkDockerfile(mustDockerfile(t), "1.26.99")
		if !containsError(errs, "older than go.mod") {
			t.Fatalf("got %v", errors.Join(errs...))
		}
	})
	t.Run("healthcheck binary missing from the image", func(t *testing.T) {
		df, err := parseDockerfile(strings.ReplaceAll(string(original), "/usr/local/bin/busybox", "/bin/busybox"))
		if err != nil {
			t.Fatal(err)
		}
		if errs := checkGranaryImage(mustLoad(t), df); !containsError(errs, "never copies in") {
			t.Fatalf("got %v", errors.Join(errs...))
		}
	})
}

func TestInterpolate(t *testing.T) {
	cases := []struct {
		in, want, wantErr string
		env               dotEnv
	}{
		{in: "plain", want: "plain"},
		{in: "${A:-x}", env: dotEnv{"A": "set"}, want: "set"},
		{in: "${A:-x}", env: dotEnv{"A": ""}, want: "x"},
		{in: "${A-x}", env: dotEnv{"A": ""}, want: ""},
		{in: "${A:+alt}", env: dotEnv{"A": "set"}, want: "alt"},
		{in: "${A:?set A}", env: dotEnv{"A": "value"}, want: "value"},
		{in: "${A:?set A}", env: dotEnv{"A": ""}, wantErr: "is required (set A)"},
		{in: "${A}", env: dotEnv{"A": "value"}, wantErr: "has no default"},
		{in: "${A:-x}", want: "x"},
		{in: "${A-x}", want: "x"},
		{in: "${A:-}", want: ""},
		{in: "pre-${A:-mid}-post", want: "pre-mid-post"},
		{in: "${A:-${B:-nested}}", want: "nested"},
		{in: "${A:+alt}", want: ""},
		{in: "$$HOME and $${X}", want: "$HOME and ${X}"},
		{in: "s3://${B:-granary}/lake?endpoint=minio:9000&secure=false", want: "s3://granary/lake?endpoint=minio:9000&secure=false"},
		{in: "${A}", wantErr: "has no default"},
		{in: "$A", wantErr: "has no default"},
		{in: "${A:?set A}", wantErr: "is required"},
		{in: "${A:-x", wantErr: "unterminated"},
		{in: "cost: 5$", wantErr: "lone $"},
	}
	for _, tc := range cases {
		got, err := interpolate(tc.in, tc.env)
		switch {
		case tc.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("interpolate(%q) = %q, %v; want error containing %q", tc.in, got, err, tc.wantErr)
			}
		case err != nil || got != tc.want:
			t.Errorf("interpolate(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// TestComposeRefusesToStartWithoutTokens: with no .env, Compose stops at
// the serving tokens instead of starting with a token everyone knows.
func TestComposeRefusesToStartWithoutTokens(t *testing.T) {
	data, err := os.ReadFile(composePath)
	if err != nil {
		t.Fatal(err)
	}
	_, err = parseStack(data, filepath.Dir(composePath), nil)
	if err == nil {
		t.Fatal("the stack resolved with no .env; the serving tokens must be required")
	}
	for _, v := range []string{"GRANARY_SERVE_TOKENS", "GRANARY_SERVE_NOTIFY_TOKEN"} {
		if !strings.Contains(err.Error(), "${"+v+"} is required") {
			t.Errorf("no .env: %v; want %s reported as required", err, v)
		}
	}
	if strings.Contains(string(data), "granary-dev-token") {
		t.Error("docker-compose.yml still names the old fixed token")
	}
	// What operatorEnv sets is all a .env needs: everything else has a
	// working default.
	for v := range operatorEnv {
		env := dotEnv{}
		for k, val := range operatorEnv {
			if k != v {
				env[k] = val
			}
		}
		if _, err := parseStack(data, filepath.Dir(composePath), env); err == nil || !strings.Contains(err.Error(), v) {
			t.Errorf("without %s: %v; want it reported", v, err)
		}
	}
}

func TestShellWords(t *testing.T) {
	env := map[string]string{"U": "granary", "P": "se cret"}
	cases := []struct {
		in   string
		want []string
	}{
		{`mc alias set minio http://minio:9000 "$U" "$P"`, []string{"mc", "alias", "set", "minio", "http://minio:9000", "granary", "se cret"}},
		{`mc alias set minio http://minio:9000 ${U} '$P'`, []string{"mc", "alias", "set", "minio", "http://minio:9000", "granary", "$P"}},
		{`mc ls minio/granary >/dev/null`, []string{"mc", "ls", "minio/granary"}},
		{`mc mb --ignore-existing minio/granary # comment`, []string{"mc", "mb", "--ignore-existing", "minio/granary"}},
		{`set -eu; mc mb x/y`, []string{"set", "-eu"}},
	}
	for _, tc := range cases {
		got, err := shellWords(tc.in, env)
		if err != nil || strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("shellWords(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := shellWords(`mc alias set a http://x "$NOPE" p`, env); err == nil || !strings.Contains(err.Error(), "NOPE") {
		t.Errorf("an unset variable must be an error, got %v", err)
	}
}

// TestParseStackIsStrict: a misspelt key is an error, not a silently
// ignored setting, and so is a credential with no default.
func TestParseStackIsStrict(t *testing.T) {
	dir := t.TempDir()
	cases := []struct{ name, yaml, want string }{
		{"misspelt depends_on", "services:\n  a:\n    image: x:1.0\n    depend_on: [b]\n", `unknown field "depend_on"`},
		{"misspelt top-level key", "services:\n  a:\n    image: x:1.0\nvolume:\n  d:\n", `unknown field "volume"`},
		{"variable without default", "services:\n  a:\n    image: x:1.0\n    environment:\n      P: ${SECRET}\n", "services.a.environment.P"},
		{"duplicate environment key", "services:\n  a:\n    image: x:1.0\n    environment:\n      - P=1\n      - P=2\n", "P set twice"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseStack([]byte(tc.yaml), dir, operatorEnv)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v; want an error containing %q", err, tc.want)
			}
		})
	}
	t.Run("extension fields are allowed", func(t *testing.T) {
		doc := "x-common: &c\n  restart: \"no\"\nservices:\n  a:\n    image: x:1.0\n    x-note: fine\n"
		if _, err := parseStack([]byte(doc), dir, operatorEnv); err != nil {
			t.Fatal(err)
		}
	})
}

// TestDeployFilesExist: the README and the scripts the stack mounts are
// where the compose file says.
func TestDeployFilesExist(t *testing.T) {
	for _, p := range []string{"deploy/README.md", "deploy/temporal/setup-schema.sh", "deploy/temporal/setup-namespace.sh", "deploy/temporal/dynamicconfig/granary.yaml", ".dockerignore"} {
		if _, err := os.Stat(filepath.Join("../..", p)); err != nil {
			t.Error(err)
		}
	}
}
