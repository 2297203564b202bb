package deploycheck

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/granaryml/granary/internal/serving"
)

// Each check reads the parsed stack and returns everything it finds wrong;
// no error means the property holds. They return errors instead of failing
// a *testing.T so that the negative tests can break a copy of the stack and
// see the right check complain.

// wantSearchAttributes are the custom search attributes granary's workflows
// upsert (workflows/searchattrs.go); the server rejects an upsert of an
// unregistered one, failing the workflow task.
var wantSearchAttributes = map[string]string{
	"GranaryKind":    "Keyword",
	"GranaryName":    "Keyword",
	"GranaryVersion": "Keyword",
}

// documentedPorts are the host ports deploy/README.md tells people to use.
var documentedPorts = map[string][]int{
	"postgres":          {5432},
	"temporalio/server": {7233},
	"temporalio/ui":     {8080},
	"minio/minio":       {9000, 9001},
}

const (
	temporalFrontendPort = "7233" // the server's default FRONTEND_GRPC_PORT
	postgresPort         = "5432"
	minioAPIPortDefault  = "9000"
	sqlPlugin            = "postgres12"
)

// checkImageOrBuild: every service says what it runs, by an image with an
// explicit tag other than latest, or by a build section.
func checkImageOrBuild(s *stack) []error {
	var errs []error
	for _, n := range s.resolved.sortedNames() {
		svc := s.resolved.Services[n]
		switch {
		case svc.Image == "" && svc.Build == nil:
			errs = append(errs, fmt.Errorf("service %s: has neither image nor build", n))
		case svc.Image != "":
			_, tag, digest := parseImage(svc.Image)
			if tag == "" && digest == "" {
				errs = append(errs, fmt.Errorf("service %s: image %q has no tag, so Docker pulls latest", n, svc.Image))
			}
			if tag == "latest" {
				errs = append(errs, fmt.Errorf("service %s: image %q uses the latest tag", n, svc.Image))
			}
		}
	}
	return errs
}

var (
	versionTag      = regexp.MustCompile(`^v?[0-9]+\.[0-9]+(\.[0-9]+)*([-+_.][0-9A-Za-z.-]+)?$`)
	minioReleaseTag = regexp.MustCompile(`^RELEASE\.[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}-[0-9]{2}-[0-9]{2}Z$`)
)

// checkImagesPinned: image tags name a release (16.13, 1.31.0, a MinIO
// RELEASE stamp) or the image is pinned by digest; a bare major like
// postgres:16 moves under you.
func checkImagesPinned(s *stack) []error {
	var errs []error
	for _, n := range s.resolved.sortedNames() {
		img := s.resolved.Services[n].Image
		if img == "" {
			continue
		}
		_, tag, digest := parseImage(img)
		if digest != "" {
			continue
		}
		if !versionTag.MatchString(tag) && !minioReleaseTag.MatchString(tag) {
			errs = append(errs, fmt.Errorf("service %s: image %q is not pinned to a release (want a tag like 16.13 or 1.31.0, or @sha256:...)", n, img))
		}
	}
	return errs
}

// checkHostPorts: no two services (or two entries) publish the same host
// port, which would make `docker compose up` fail on the second bind.
func checkHostPorts(s *stack) []error {
	var errs []error
	owner := map[string]string{}
	for _, n := range s.resolved.sortedNames() {
		for _, ps := range s.resolved.Services[n].Ports {
			p, err := ps.parse()
			if err != nil {
				errs = append(errs, fmt.Errorf("service %s: %w", n, err))
				continue
			}
			for _, hp := range p.Published {
				key := fmt.Sprintf("%d/%s", hp, p.Protocol)
				if prev, taken := owner[key]; taken {
					errs = append(errs, fmt.Errorf("host port %s is published by both %s and %s", key, prev, n))
					continue
				}
				owner[key] = n
			}
		}
	}
	if len(owner) == 0 {
		errs = append(errs, fmt.Errorf("no service publishes a host port; the README's URLs would all fail"))
	}
	return errs
}

// checkDocumentedPorts: the ports the README sends people to are published,
// each to the same container port.
func checkDocumentedPorts(s *stack) []error {
	var errs []error
	want := map[string][]int{}
	for repo, ports := range documentedPorts {
		n, _, err := s.resolved.byImage(repo)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		want[n] = ports
	}
	serve, _, err := s.resolved.granaryCommand("serve")
	if err != nil {
		errs = append(errs, err)
	} else {
		want[serve] = []int{8090}
	}
	for n, ports := range want {
		published := map[int]int{}
		for _, ps := range s.resolved.Services[n].Ports {
			if p, err := ps.parse(); err == nil && len(p.Published) == 1 && len(p.Target) == 1 {
				published[p.Published[0]] = p.Target[0]
			}
		}
		for _, hp := range ports {
			if target, ok := published[hp]; !ok || target != hp {
				errs = append(errs, fmt.Errorf("service %s: want host port %d published to container port %d (deploy/README.md uses it)", n, hp, hp))
			}
		}
	}
	return errs
}

var validConditions = map[string]bool{
	"service_started":                true,
	"service_healthy":                true,
	"service_completed_successfully": true,
}

// checkDependsOn: every dependency names a service, with a condition
// Compose knows and the target can meet, and there is no cycle.
func checkDependsOn(s *stack) []error {
	c := s.resolved
	var errs []error
	for _, n := range c.sortedNames() {
		for dep, d := range c.Services[n].DependsOn {
			target, ok := c.Services[dep]
			if !ok {
				errs = append(errs, fmt.Errorf("service %s depends on %s, which is not a service", n, dep))
				continue
			}
			cond := d.Condition
			if cond == "" {
				cond = "service_started"
			}
			if !validConditions[cond] {
				errs = append(errs, fmt.Errorf("service %s depends on %s with condition %q; want service_started, service_healthy or service_completed_successfully", n, dep, d.Condition))
				continue
			}
			switch cond {
			case "service_healthy":
				if !target.Healthcheck.enabled() {
					errs = append(errs, fmt.Errorf("service %s waits for %s to be healthy, but %s has no healthcheck, so it never will be", n, dep, dep))
				}
			case "service_completed_successfully":
				if r := target.Restart; r == "always" || r == "unless-stopped" {
					errs = append(errs, fmt.Errorf("service %s waits for %s to complete, but %s has restart: %s", n, dep, dep, r))
				}
			}
		}
	}
	// Cycles: Compose refuses to start them.
	state := map[string]int{} // 0 new, 1 on stack, 2 done
	var path []string
	var visit func(n string)
	visit = func(n string) {
		state[n] = 1
		path = append(path, n)
		deps := make([]string, 0, len(c.Services[n].DependsOn))
		for d := range c.Services[n].DependsOn {
			deps = append(deps, d)
		}
		sort.Strings(deps)
		for _, d := range deps {
			if _, ok := c.Services[d]; !ok {
				continue
			}
			switch state[d] {
			case 0:
				visit(d)
			case 1:
				errs = append(errs, fmt.Errorf("depends_on cycle: %s -> %s", strings.Join(path, " -> "), d))
			}
		}
		path = path[:len(path)-1]
		state[n] = 2
	}
	for _, n := range c.sortedNames() {
		if state[n] == 0 {
			visit(n)
		}
	}
	return errs
}

// checkMinioCredentials: MinIO, the step that creates the bucket and every
// granary service use the same key pair.
func checkMinioCredentials(s *stack) []error {
	c := s.resolved
	var errs []error
	minioName, minio, err := c.byImage("minio/minio")
	if err != nil {
		return []error{err}
	}
	user, pass := minio.Environment["MINIO_ROOT_USER"], minio.Environment["MINIO_ROOT_PASSWORD"]
	if len(user) < 3 {
		errs = append(errs, fmt.Errorf("service %s: MINIO_ROOT_USER %q is shorter than the 3 characters MinIO requires", minioName, user))
	}
	if len(pass) < 8 {
		errs = append(errs, fmt.Errorf("service %s: MINIO_ROOT_PASSWORD is shorter than the 8 characters MinIO requires", minioName))
	}
	mcName, mc, err := c.byImage("minio/mc")
	if err != nil {
		return append(errs, err)
	}
	setup, err := mcSetupOf(s, mcName, mc)
	if err != nil {
		return append(errs, err)
	}
	if setup.user != user || setup.password != pass {
		errs = append(errs, fmt.Errorf("service %s logs in to MinIO as %q with a password that %s does not have (MinIO root user %q)", mcName, setup.user, minioName, user))
	}
	granary := c.granaryServices()
	if len(granary) == 0 {
		errs = append(errs, fmt.Errorf("no service is built from the Dockerfile"))
	}
	for _, n := range granary {
		env := c.Services[n].Environment
		if env["AWS_ACCESS_KEY_ID"] != user {
			errs = append(errs, fmt.Errorf("service %s: AWS_ACCESS_KEY_ID %q is not %s's MINIO_ROOT_USER %q", n, env["AWS_ACCESS_KEY_ID"], minioName, user))
		}
		if env["AWS_SECRET_ACCESS_KEY"] != pass {
			errs = append(errs, fmt.Errorf("service %s: AWS_SECRET_ACCESS_KEY is not %s's MINIO_ROOT_PASSWORD", n, minioName))
		}
	}
	return errs
}

func mcSetupOf(s *stack, name string, svc *service) (mcSetup, error) {
	script, err := s.scriptOf(name)
	if err != nil {
		return mcSetup{}, err
	}
	setup, err := parseMcSetup(script, svc.Environment)
	if err != nil {
		return mcSetup{}, fmt.Errorf("service %s: %w", name, err)
	}
	return setup, nil
}

// checkPostgresCredentials: PostgreSQL, the schema step and the Temporal
// server agree on host, port, user, password, plugin and database names,
// and start in that order.
func checkPostgresCredentials(s *stack) []error {
	c := s.resolved
	var errs []error
	pgName, pg, err := c.byImage("postgres")
	if err != nil {
		return []error{err}
	}
	user := pg.Environment["POSTGRES_USER"]
	if user == "" {
		user = "postgres" // the image's default
	}
	pass := pg.Environment["POSTGRES_PASSWORD"]
	if pass == "" {
		errs = append(errs, fmt.Errorf("service %s: POSTGRES_PASSWORD is empty; the image refuses to initialise", pgName))
	}
	schemaName, schema, err := c.byImageAndEnv("temporalio/admin-tools", "SQL_HOST")
	if err != nil {
		return append(errs, err)
	}
	srvName, srv, err := c.byImage("temporalio/server")
	if err != nil {
		return append(errs, err)
	}
	type want struct{ svc, key, value, why string }
	se, te := schema.Environment, srv.Environment
	for _, w := range []want{
		{schemaName, "SQL_HOST", pgName, "the postgres service"},
		{schemaName, "SQL_PORT", postgresPort, "PostgreSQL's port"},
		{schemaName, "SQL_USER", user, pgName + "'s POSTGRES_USER"},
		{schemaName, "SQL_PASSWORD", pass, pgName + "'s POSTGRES_PASSWORD"},
		{schemaName, "SQL_PLUGIN", sqlPlugin, "the plugin for PostgreSQL 12+"},
		{srvName, "DB", sqlPlugin, "the plugin the schema was set up with"},
		{srvName, "POSTGRES_SEEDS", pgName, "the postgres service"},
		{srvName, "DB_PORT", postgresPort, "PostgreSQL's port"},
		{srvName, "POSTGRES_USER", user, pgName + "'s POSTGRES_USER"},
		{srvName, "POSTGRES_PWD", pass, pgName + "'s POSTGRES_PASSWORD"},
	} {
		got := c.Services[w.svc].Environment[w.key]
		if got != w.value {
			shown := got
			if strings.Contains(w.key, "PASSWORD") || strings.Contains(w.key, "PWD") {
				shown = "(redacted)"
			}
			errs = append(errs, fmt.Errorf("service %s: %s is %q, want %s", w.svc, w.key, shown, w.why))
		}
	}
	// The server falls back to the main connection for visibility unless
	// told otherwise; if it is told otherwise, it must still agree.
	for key, value := range map[string]string{"VISIBILITY_POSTGRES_SEEDS": pgName, "VISIBILITY_DB_PORT": postgresPort, "VISIBILITY_POSTGRES_USER": user, "VISIBILITY_POSTGRES_PWD": pass} {
		if got, set := te[key]; set && got != value {
			errs = append(errs, fmt.Errorf("service %s: %s disagrees with the postgres service", srvName, key))
		}
	}
	for key, def := range map[string]string{"DBNAME": "temporal", "VISIBILITY_DBNAME": "temporal_visibility"} {
		if envOr(se, key, def) != envOr(te, key, def) {
			errs = append(errs, fmt.Errorf("%s sets up database %s=%q but %s uses %q", schemaName, key, envOr(se, key, def), srvName, envOr(te, key, def)))
		}
	}
	if d := schema.DependsOn[pgName]; d.Condition != "service_healthy" {
		errs = append(errs, fmt.Errorf("service %s must wait for %s with condition service_healthy", schemaName, pgName))
	}
	if d := srv.DependsOn[schemaName]; d.Condition != "service_completed_successfully" {
		errs = append(errs, fmt.Errorf("service %s must wait for %s with condition service_completed_successfully", srvName, schemaName))
	}
	return errs
}

func envOr(env envMap, key, def string) string {
	if v, ok := env[key]; ok && v != "" {
		return v
	}
	return def
}

// checkSchemaSetup: the schema step's script creates, sets up and updates
// both databases from this admin-tools image's PostgreSQL 12 schema.
func checkSchemaSetup(s *stack) []error {
	name, _, err := s.resolved.byImageAndEnv("temporalio/admin-tools", "SQL_HOST")
	if err != nil {
		return []error{err}
	}
	script, err := s.scriptOf(name)
	if err != nil {
		return []error{err}
	}
	var errs []error
	for _, want := range []string{
		"temporal-sql-tool", " create", "setup-schema -v 0.0", "update-schema -d",
		"/etc/temporal/schema/postgresql/v12", "temporal/versioned", "visibility/versioned",
		"$DBNAME", "$VISIBILITY_DBNAME",
	} {
		if !strings.Contains(script, want) {
			errs = append(errs, fmt.Errorf("service %s: its script never mentions %q; it must create and migrate both the main and the visibility database", name, want))
		}
	}
	return errs
}

// checkTemporalAddresses: everything that talks to Temporal uses the
// server's service name and frontend port, and waits for the server; the
// server listens where other containers can reach it.
func checkTemporalAddresses(s *stack) []error {
	c := s.resolved
	var errs []error
	srvName, srv, err := c.byImage("temporalio/server")
	if err != nil {
		return []error{err}
	}
	want := net.JoinHostPort(srvName, envOr(srv.Environment, "FRONTEND_GRPC_PORT", temporalFrontendPort))
	if ip := srv.Environment["BIND_ON_IP"]; ip != "0.0.0.0" {
		errs = append(errs, fmt.Errorf("service %s: BIND_ON_IP is %q; the server then listens on loopback (its default) and no other container reaches %s", srvName, ip, want))
	}
	if b := srv.Environment["TEMPORAL_BROADCAST_ADDRESS"]; net.ParseIP(b) == nil || net.ParseIP(b).IsUnspecified() {
		errs = append(errs, fmt.Errorf("service %s: TEMPORAL_BROADCAST_ADDRESS %q must be a concrete IP when binding 0.0.0.0, or cluster membership fails", srvName, b))
	}
	addressKeys := []string{"TEMPORAL_ADDRESS", "TEMPORAL_CLI_ADDRESS", "GRANARY_TEMPORAL_ADDRESS", "TEMPORAL_GRPC_ENDPOINT"}
	clients := map[string]bool{}
	for _, n := range c.sortedNames() {
		if n == srvName {
			continue
		}
		for _, key := range addressKeys {
			got, ok := c.Services[n].Environment[key]
			if !ok {
				continue
			}
			clients[n] = true
			if got != want {
				errs = append(errs, fmt.Errorf("service %s: %s is %q, want %q (the server's service name and frontend port)", n, key, got, want))
			}
		}
		if clients[n] && !c.dependsTransitively(n, srvName) {
			errs = append(errs, fmt.Errorf("service %s talks to Temporal but does not wait for %s", n, srvName))
		}
	}
	// The ones that must talk to Temporal at all.
	var required []string
	if n, _, err := c.byImage("temporalio/ui"); err != nil {
		errs = append(errs, err)
	} else {
		required = append(required, n)
	}
	if n, _, err := c.byImageAndEnv("temporalio/admin-tools", "GRANARY_SEARCH_ATTRIBUTES"); err != nil {
		errs = append(errs, err)
	} else {
		required = append(required, n)
	}
	if n, _, err := c.granaryCommand("worker"); err != nil {
		errs = append(errs, err)
	} else {
		required = append(required, n)
	}
	for _, n := range required {
		if !clients[n] {
			errs = append(errs, fmt.Errorf("service %s does not say where Temporal is (set one of %v to %q)", n, addressKeys, want))
		}
	}
	return errs
}

// checkLake: the lake URL of every granary service names the bucket the mc
// step creates and the MinIO service's API port, and they all share one
// lake (a worker and serve on different lakes would never see each other).
func checkLake(s *stack) []error {
	c := s.resolved
	var errs []error
	minioName, minio, err := c.byImage("minio/minio")
	if err != nil {
		return []error{err}
	}
	apiPort := minioAPIPortDefault
	for i, a := range minio.Command {
		if a == "--address" && i+1 < len(minio.Command) {
			if _, p, err := net.SplitHostPort(minio.Command[i+1]); err == nil {
				apiPort = p
			}
		}
	}
	endpoint := net.JoinHostPort(minioName, apiPort)
	mcName, mc, err := c.byImage("minio/mc")
	if err != nil {
		return []error{err}
	}
	setup, err := mcSetupOf(s, mcName, mc)
	if err != nil {
		return []error{err}
	}
	if setup.url != "http://"+endpoint {
		errs = append(errs, fmt.Errorf("service %s: mc alias %s points at %q, want http://%s", mcName, setup.alias, setup.url, endpoint))
	}
	created := map[string]bool{}
	for _, b := range setup.buckets {
		alias, bucket, _ := strings.Cut(b, "/")
		if alias != setup.alias {
			errs = append(errs, fmt.Errorf("service %s: mc mb %s uses alias %q, not %q", mcName, b, alias, setup.alias))
		}
		created[strings.SplitN(bucket, "/", 2)[0]] = true
	}
	lakes := map[string][]string{}
	for _, n := range c.granaryServices() {
		raw, ok := c.Services[n].Environment["GRANARY_LAKE"]
		if !ok {
			errs = append(errs, fmt.Errorf("service %s: GRANARY_LAKE is not set, so it would use a local directory inside the container", n))
			continue
		}
		lakes[raw] = append(lakes[raw], n)
		u, err := url.Parse(raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("service %s: GRANARY_LAKE %q: %w", n, raw, err))
			continue
		}
		if u.Scheme != "s3" {
			errs = append(errs, fmt.Errorf("service %s: GRANARY_LAKE %q: want an s3:// URL on MinIO", n, raw))
		}
		if !created[u.Host] {
			errs = append(errs, fmt.Errorf("service %s: GRANARY_LAKE names bucket %q, but %s creates %v", n, u.Host, mcName, setup.buckets))
		}
		if ep := u.Query().Get("endpoint"); ep != endpoint {
			errs = append(errs, fmt.Errorf("service %s: GRANARY_LAKE endpoint is %q, want %q (the MinIO service and its API port)", n, ep, endpoint))
		}
		if sec := u.Query().Get("secure"); sec != "false" {
			errs = append(errs, fmt.Errorf("service %s: GRANARY_LAKE secure=%q, want false: MinIO serves plain HTTP here", n, sec))
		}
		if !c.dependsTransitively(n, mcName) {
			errs = append(errs, fmt.Errorf("service %s uses the lake but does not wait for %s to create the bucket", n, mcName))
		}
	}
	if len(lakes) > 1 {
		errs = append(errs, fmt.Errorf("granary services use different lakes: %v", lakes))
	}
	if len(lakes) == 0 {
		errs = append(errs, fmt.Errorf("no granary service sets GRANARY_LAKE"))
	}
	return errs
}

// checkSearchAttributes: the setup step registers GranaryKind, GranaryName
// and GranaryVersion as Keyword, in the namespace granary uses, before the
// worker starts.
func checkSearchAttributes(s *stack) []error {
	c := s.resolved
	var errs []error
	name, svc, err := c.byImageAndEnv("temporalio/admin-tools", "GRANARY_SEARCH_ATTRIBUTES")
	if err != nil {
		return []error{err}
	}
	got := map[string]string{}
	for _, pair := range strings.Fields(svc.Environment["GRANARY_SEARCH_ATTRIBUTES"]) {
		k, v, ok := strings.Cut(pair, "=")
		if !ok {
			errs = append(errs, fmt.Errorf("service %s: GRANARY_SEARCH_ATTRIBUTES entry %q is not Name=Type", name, pair))
			continue
		}
		got[k] = v
	}
	for attr, typ := range wantSearchAttributes {
		if got[attr] != typ {
			errs = append(errs, fmt.Errorf("service %s: search attribute %s must be registered as %s, GRANARY_SEARCH_ATTRIBUTES has %q", name, attr, typ, got[attr]))
		}
	}
	script, err := s.scriptOf(name)
	if err != nil {
		return append(errs, err)
	}
	for _, want := range []string{"temporal operator search-attribute create", "GRANARY_SEARCH_ATTRIBUTES", "temporal operator namespace create", "GRANARY_NAMESPACE"} {
		if !strings.Contains(script, want) {
			errs = append(errs, fmt.Errorf("service %s: its script never mentions %q", name, want))
		}
	}
	ns := envOr(svc.Environment, "GRANARY_NAMESPACE", "default")
	for _, n := range c.granaryServices() {
		if got := envOr(c.Services[n].Environment, "GRANARY_NAMESPACE", "default"); got != ns {
			errs = append(errs, fmt.Errorf("service %s uses namespace %q but %s registers %q", n, got, name, ns))
		}
	}
	if worker, _, err := c.granaryCommand("worker"); err == nil {
		if d := c.Services[worker].DependsOn[name]; d.Condition != "service_completed_successfully" {
			errs = append(errs, fmt.Errorf("service %s must wait for %s with condition service_completed_successfully, or its first workflows fail to upsert search attributes", worker, name))
		}
	}
	return errs
}

// checkVolumes: named volumes are declared, bind-mount sources exist.
func checkVolumes(s *stack) []error {
	c := s.resolved
	var errs []error
	used := map[string]bool{}
	for _, n := range c.sortedNames() {
		for _, v := range c.Services[n].Volumes {
			m, err := v.parse()
			if err != nil {
				errs = append(errs, fmt.Errorf("service %s: %w", n, err))
				continue
			}
			switch m.Type {
			case "volume":
				if m.Source == "" {
					errs = append(errs, fmt.Errorf("service %s: anonymous volume at %s is lost on `docker compose down`; name it", n, m.Target))
					continue
				}
				used[m.Source] = true
				if _, ok := c.Volumes[m.Source]; !ok {
					errs = append(errs, fmt.Errorf("service %s mounts volume %q, which is not declared under top-level volumes", n, m.Source))
				}
			case "bind":
				if _, err := os.Stat(filepath.Join(s.dir, m.Source)); err != nil {
					errs = append(errs, fmt.Errorf("service %s bind-mounts %s: %w", n, m.Source, err))
				}
			}
		}
	}
	for v := range c.Volumes {
		if !used[v] {
			errs = append(errs, fmt.Errorf("volume %q is declared but no service mounts it", v))
		}
	}
	return errs
}

// checkCredentialsFromVariables: secrets are written as ${VAR:-default}, so
// a .env file overrides them without editing the compose file.
func checkCredentialsFromVariables(s *stack) []error {
	var errs []error
	secret := regexp.MustCompile(`PASSWORD|PWD|SECRET|TOKENS?$|ACCESS_KEY|ROOT_USER|_USER$`)
	for _, n := range s.raw.sortedNames() {
		for k, v := range s.raw.Services[n].Environment {
			if !secret.MatchString(k) {
				continue
			}
			if !strings.HasPrefix(v, "${") || !strings.HasSuffix(v, "}") {
				errs = append(errs, fmt.Errorf("service %s: %s is written as a literal; use ${VAR:-default} so .env can override it", n, k))
			}
		}
	}
	return errs
}

// tokenRequired is how a serving token is written: a variable with no
// default, so Compose refuses to start until .env sets it.
var tokenRequired = regexp.MustCompile(`^\$\{([A-Za-z_][A-Za-z0-9_]*):\?[^}]+\}$`)

// checkTokensRequired: a token with a default would be the same in every
// deployment that forgot its .env, and known to anyone who read this file.
func checkTokensRequired(s *stack) []error {
	var errs []error
	token := regexp.MustCompile(`TOKENS?$`)
	found := 0
	for _, n := range s.raw.sortedNames() {
		for k, v := range s.raw.Services[n].Environment {
			if !token.MatchString(k) {
				continue
			}
			found++
			if !tokenRequired.MatchString(v) {
				errs = append(errs, fmt.Errorf("service %s: %s is %q; write ${%s:?how to set it} so the stack refuses to start without a token in .env", n, k, v, k))
			}
		}
	}
	if found == 0 {
		errs = append(errs, errors.New("no service has a token variable; serving and its notifications need one"))
	}
	return errs
}

// checkWorkerScales: `docker compose up --scale granary-worker=N` works,
// i.e. the worker has no fixed host port and no fixed container name.
func checkWorkerScales(s *stack) []error {
	name, svc, err := s.resolved.granaryCommand("worker")
	if err != nil {
		return []error{err}
	}
	var errs []error
	if svc.ContainerName != "" {
		errs = append(errs, fmt.Errorf("service %s: container_name %q stops it from scaling past one replica", name, svc.ContainerName))
	}
	for _, ps := range svc.Ports {
		if p, err := ps.parse(); err != nil || len(p.Published) > 0 {
			errs = append(errs, fmt.Errorf("service %s publishes host port %s; a second replica could not bind it", name, ps))
		}
	}
	return errs
}

// checkServe: granary serve listens on all interfaces on the port it
// publishes, has tokens, and its healthcheck probes that port's /healthz.
func checkServe(s *stack) []error {
	name, svc, err := s.resolved.granaryCommand("serve")
	if err != nil {
		return []error{err}
	}
	var errs []error
	var addr string
	for i, a := range svc.Command {
		if a == "--addr" && i+1 < len(svc.Command) {
			addr = svc.Command[i+1]
		} else if v, ok := strings.CutPrefix(a, "--addr="); ok {
			addr = v
		}
	}
	host, listen, err := net.SplitHostPort(addr)
	if err != nil {
		return append(errs, fmt.Errorf("service %s: want `serve --addr 0.0.0.0:PORT`, got %v", name, []string(svc.Command)))
	}
	if host != "0.0.0.0" {
		errs = append(errs, fmt.Errorf("service %s: --addr %s listens only inside the container; use 0.0.0.0", name, addr))
	}
	lp, _ := strconv.Atoi(listen)
	exposed := false
	for _, ps := range svc.Ports {
		if p, err := ps.parse(); err == nil && len(p.Target) == 1 && p.Target[0] == lp {
			exposed = true
		}
	}
	if !exposed {
		errs = append(errs, fmt.Errorf("service %s listens on %s but publishes no port to it", name, listen))
	}
	if svc.Environment["GRANARY_SERVE_TOKENS"] == "" {
		errs = append(errs, fmt.Errorf("service %s: GRANARY_SERVE_TOKENS is empty; nobody could call the API", name))
	}
	if !svc.Healthcheck.enabled() || !strings.Contains(strings.Join(svc.Healthcheck.Test, " "), ":"+listen+"/healthz") {
		errs = append(errs, fmt.Errorf("service %s: want a healthcheck probing /healthz on port %s", name, listen))
	}
	// Workers push alias moves to serving; a wrong address or a token
	// serving does not accept makes every promotion compensate (roll back).
	wname, w, err := s.resolved.granaryCommand("worker")
	if err != nil {
		return append(errs, err)
	}
	if got, want := w.Environment["GRANARY_SERVE_NOTIFY"], fmt.Sprintf("http://%s:%s", name, listen); got != want {
		errs = append(errs, fmt.Errorf("service %s: GRANARY_SERVE_NOTIFY is %q, serving listens at %s", wname, got, want))
	}
	tok := w.Environment["GRANARY_SERVE_NOTIFY_TOKEN"]
	accepted := false
	for _, t := range strings.Split(svc.Environment["GRANARY_SERVE_TOKENS"], ",") {
		if strings.TrimSpace(t) == "" {
			continue
		}
		parsed, err := serving.ParseToken(t)
		if err != nil {
			errs = append(errs, fmt.Errorf("service %s: GRANARY_SERVE_TOKENS: %w", name, err))
			continue
		}
		accepted = accepted || (tok != "" && parsed.Secret == tok)
	}
	if !accepted {
		errs = append(errs, fmt.Errorf("service %s: GRANARY_SERVE_NOTIFY_TOKEN is not one of %s's GRANARY_SERVE_TOKENS", wname, name))
	}
	return errs
}

// checkGranaryImage: the granary services build this repository's
// Dockerfile, and a healthcheck binary they name exists in that image.
func checkGranaryImage(s *stack, df dockerfile) []error {
	var errs []error
	final := df.stages[len(df.stages)-1]
	var copied []string
	for _, cp := range final.instructions("COPY") {
		if f := strings.Fields(cp); len(f) > 0 {
			copied = append(copied, f[len(f)-1])
		}
	}
	for _, n := range s.resolved.granaryServices() {
		b := s.resolved.Services[n].Build
		if ctx := filepath.Clean(filepath.Join(s.dir, b.Context)); ctx != filepath.Clean(s.dir) {
			errs = append(errs, fmt.Errorf("service %s: build context %q is not the repository root", n, b.Context))
		}
		if b.Dockerfile != "" && b.Dockerfile != "Dockerfile" {
			errs = append(errs, fmt.Errorf("service %s: builds %q, not the repository's Dockerfile", n, b.Dockerfile))
		}
		hc := s.resolved.Services[n].Healthcheck
		if hc.enabled() && hc.Test[0] == "CMD" && strings.HasPrefix(hc.Test[1], "/") {
			found := false
			for _, dst := range copied {
				if dst == hc.Test[1] {
					found = true
				}
			}
			if !found {
				errs = append(errs, fmt.Errorf("service %s: healthcheck runs %s, which the Dockerfile's final stage never copies in", n, hc.Test[1]))
			}
		}
	}
	return errs
}

// checkDockerfile: a Go 1.26 builder (at least go.mod's version) builds
// ./cmd/granary statically; the runtime stage runs it as non-root; every
// base image has an explicit tag.
func checkDockerfile(df dockerfile, goModGo string) []error {
	var errs []error
	stageNames := map[string]bool{}
	builder := -1
	for i, st := range df.stages {
		if stageNames[st.image] {
			continue // FROM an earlier stage
		}
		repo, tag, digest := parseImage(st.image)
		if strings.Contains(st.image, "$") {
			errs = append(errs, fmt.Errorf("FROM %s: write the image out, so it is pinned in one visible place", st.image))
		}
		if (tag == "" && digest == "") || tag == "latest" {
			errs = append(errs, fmt.Errorf("FROM %s: needs an explicit tag other than latest", st.image))
		}
		if repo == "golang" {
			builder = i
		}
		if st.name != "" {
			stageNames[st.name] = true
		}
	}
	if builder < 0 {
		return append(errs, fmt.Errorf("no golang builder stage"))
	}
	b := df.stages[builder]
	_, tag, _ := parseImage(b.image)
	version, _, _ := strings.Cut(tag, "-") // 1.26.8-bookworm
	if !strings.HasPrefix(version, "1.26.") {
		errs = append(errs, fmt.Errorf("builder %s: want a golang:1.26.x image (go.mod says go %s)", b.image, goModGo))
	} else if goPatch(version) < goPatch(goModGo) {
		errs = append(errs, fmt.Errorf("builder %s is older than go.mod's go %s", b.image, goModGo))
	}
	var build string
	for _, r := range b.instructions("RUN") {
		if strings.Contains(r, "go build") {
			build = r
		}
	}
	if build == "" {
		return append(errs, fmt.Errorf("builder stage has no `go build`"))
	}
	for _, want := range []string{"./cmd/granary", "-trimpath", "-o /out/granary"} {
		if !strings.Contains(build, want) {
			errs = append(errs, fmt.Errorf("builder's go build lacks %q: %s", want, build))
		}
	}
	cgoOff := strings.Contains(build, "CGO_ENABLED=0")
	for _, env := range b.instructions("ENV") {
		if strings.Contains(env, "CGO_ENABLED=0") {
			cgoOff = true
		}
	}
	if !cgoOff {
		errs = append(errs, fmt.Errorf("builder does not set CGO_ENABLED=0; the binary would need libc, which distroless/static lacks"))
	}
	final := df.stages[len(df.stages)-1]
	if repo, _, _ := parseImage(final.image); repo == "golang" {
		errs = append(errs, fmt.Errorf("the final stage is the Go toolchain image; ship a small runtime image"))
	}
	copied := false
	for _, cp := range final.instructions("COPY") {
		if strings.Contains(cp, "--from="+b.name) && strings.Contains(cp, "/out/granary") && strings.HasSuffix(cp, " /granary") {
			copied = true
		}
	}
	if !copied {
		errs = append(errs, fmt.Errorf("final stage does not COPY --from=%s /out/granary /granary", b.name))
	}
	if ep := final.instructions("ENTRYPOINT"); len(ep) == 0 || ep[len(ep)-1] != `["/granary"]` {
		errs = append(errs, fmt.Errorf(`final stage: want ENTRYPOINT ["/granary"], got %v`, ep))
	}
	users := final.instructions("USER")
	if len(users) == 0 {
		errs = append(errs, fmt.Errorf("final stage sets no USER; say nonroot explicitly"))
	} else if u := strings.SplitN(users[len(users)-1], ":", 2)[0]; u == "root" || u == "0" {
		errs = append(errs, fmt.Errorf("final stage runs as %s", users[len(users)-1]))
	}
	return errs
}

// goPatch returns the patch number of a 1.26.x version, -1 if there is none.
func goPatch(v string) int {
	rest, ok := strings.CutPrefix(v, "1.26.")
	if !ok {
		return -1
	}
	n, err := strconv.Atoi(rest)
	if err != nil {
		return -1
	}
	return n
}

// checkTemporalDynamicConfig: the server's DYNAMIC_CONFIG_FILE_PATH is a
// file the compose stack mounts, in the shape Temporal reads (key: list of
// {value, constraints}). Recent server images load their config from the
// environment and do not necessarily ship a default file.
func checkTemporalDynamicConfig(s *stack) []error {
	name, srv, err := s.resolved.byImage("temporalio/server")
	if err != nil {
		return []error{err}
	}
	p := srv.Environment["DYNAMIC_CONFIG_FILE_PATH"]
	if p == "" {
		return []error{fmt.Errorf("service %s: DYNAMIC_CONFIG_FILE_PATH is not set", name)}
	}
	if !path.IsAbs(p) {
		p = path.Join("/etc/temporal", p) // the image's working directory
	}
	var host string
	for _, v := range srv.Volumes {
		m, err := v.parse()
		if err != nil || m.Type != "bind" {
			continue
		}
		if rel, ok := strings.CutPrefix(p, strings.TrimSuffix(m.Target, "/")+"/"); ok {
			host = filepath.Join(s.dir, m.Source, filepath.FromSlash(rel))
		} else if p == m.Target {
			host = filepath.Join(s.dir, m.Source)
		}
	}
	if host == "" {
		return []error{fmt.Errorf("service %s: DYNAMIC_CONFIG_FILE_PATH %s is not inside any bind mount of the service", name, p)}
	}
	data, err := os.ReadFile(host)
	if err != nil {
		return []error{fmt.Errorf("service %s: dynamic config %s: %w", name, p, err)}
	}
	type constrained struct {
		Value       any            `yaml:"value"`
		Constraints map[string]any `yaml:"constraints"`
	}
	var cfg map[string][]constrained
	if err := yaml.UnmarshalWithOptions(data, &cfg, yaml.Strict()); err != nil {
		return []error{fmt.Errorf("dynamic config %s: want KEY: [{value: ..., constraints: {...}}]: %w", host, err)}
	}
	var errs []error
	for k, entries := range cfg {
		if len(entries) == 0 {
			errs = append(errs, fmt.Errorf("dynamic config %s: %s has no value", host, k))
		}
	}
	return errs
}
