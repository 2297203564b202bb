package deploycheck

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
)

// stack is docker-compose.yml twice over: raw is the file as written (to
// check that credentials come from variables), resolved has every
// variable replaced as Compose would run it with a .env file that sets
// only what has no default (operatorEnv). dir is where relative
// bind-mount sources are looked up.
type stack struct {
	raw      *composeFile
	resolved *composeFile
	dir      string
}

type composeFile struct {
	Name     string                  `yaml:"name"`
	Services map[string]*service     `yaml:"services"`
	Volumes  map[string]*namedVolume `yaml:"volumes"`
	Networks map[string]any          `yaml:"networks"`
	Configs  map[string]any          `yaml:"configs"`
	Secrets  map[string]any          `yaml:"secrets"`
}

type namedVolume struct {
	Name       string            `yaml:"name"`
	Driver     string            `yaml:"driver"`
	DriverOpts map[string]string `yaml:"driver_opts"`
	External   any               `yaml:"external"`
	Labels     any               `yaml:"labels"`
}

// service models the Compose keys this stack uses; decoding is strict, so a
// misspelt key fails the tests instead of being ignored the way a typo in
// depends_on would silently drop the dependency. Keys that no check reads
// are typed any.
type service struct {
	Image           string        `yaml:"image"`
	Build           *buildSpec    `yaml:"build"`
	Command         stringList    `yaml:"command"`
	Entrypoint      stringList    `yaml:"entrypoint"`
	Environment     envMap        `yaml:"environment"`
	EnvFile         any           `yaml:"env_file"`
	Ports           []portSpec    `yaml:"ports"`
	Expose          []any         `yaml:"expose"`
	Volumes         []volumeMount `yaml:"volumes"`
	DependsOn       dependsOn     `yaml:"depends_on"`
	Healthcheck     *healthcheck  `yaml:"healthcheck"`
	Restart         string        `yaml:"restart"`
	ContainerName   string        `yaml:"container_name"`
	Hostname        string        `yaml:"hostname"`
	User            string        `yaml:"user"`
	WorkingDir      string        `yaml:"working_dir"`
	StopGracePeriod string        `yaml:"stop_grace_period"`
	StopSignal      string        `yaml:"stop_signal"`
	Init            *bool         `yaml:"init"`
	ReadOnly        *bool         `yaml:"read_only"`
	Tmpfs           any           `yaml:"tmpfs"`
	Labels          any           `yaml:"labels"`
	Logging         any           `yaml:"logging"`
	Networks        any           `yaml:"networks"`
	Deploy          any           `yaml:"deploy"`
	Profiles        []string      `yaml:"profiles"`
	Platform        string        `yaml:"platform"`
	PullPolicy      string        `yaml:"pull_policy"`
	Ulimits         any           `yaml:"ulimits"`
	CapAdd          []string      `yaml:"cap_add"`
	CapDrop         []string      `yaml:"cap_drop"`
	SecurityOpt     []string      `yaml:"security_opt"`
	ExtraHosts      any           `yaml:"extra_hosts"`
	ShmSize         any           `yaml:"shm_size"`
	StdinOpen       *bool         `yaml:"stdin_open"`
	Tty             *bool         `yaml:"tty"`
}

type buildSpec struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
	Args       envMap `yaml:"args"`
	Target     string `yaml:"target"`
	Platforms  any    `yaml:"platforms"`
	CacheFrom  any    `yaml:"cache_from"`
	Labels     any    `yaml:"labels"`
}

// UnmarshalYAML accepts `build: ./dir` as well as the long form.
func (b *buildSpec) UnmarshalYAML(unmarshal func(any) error) error {
	var contextDir string
	if err := unmarshal(&contextDir); err == nil {
		*b = buildSpec{Context: contextDir}
		return nil
	}
	type plain buildSpec
	var p plain
	if err := unmarshal(&p); err != nil {
		return fmt.Errorf("build: want a context path or a mapping: %w", err)
	}
	*b = buildSpec(p)
	return nil
}

// stringList is command/entrypoint: a list, or a string that Compose splits
// into words (approximated here by whitespace, enough for these files).
type stringList []string

func (s *stringList) UnmarshalYAML(unmarshal func(any) error) error {
	var list []string
	if err := unmarshal(&list); err == nil {
		*s = list
		return nil
	}
	var one string
	if err := unmarshal(&one); err != nil {
		return fmt.Errorf("want a string or a list of strings: %w", err)
	}
	*s = strings.Fields(one)
	return nil
}

// envMap is environment (or build args): a mapping, or a list of KEY=VALUE.
type envMap map[string]string

func (e *envMap) UnmarshalYAML(unmarshal func(any) error) error {
	var m map[string]any
	if err := unmarshal(&m); err == nil {
		out := make(envMap, len(m))
		for k, v := range m {
			s, err := scalarString(v)
			if err != nil {
				return fmt.Errorf("environment %s: %w", k, err)
			}
			out[k] = s
		}
		*e = out
		return nil
	}
	var list []string
	if err := unmarshal(&list); err != nil {
		return fmt.Errorf("environment: want a mapping or a list of KEY=VALUE: %w", err)
	}
	out := make(envMap, len(list))
	for _, kv := range list {
		k, v, _ := strings.Cut(kv, "=")
		if _, dup := out[k]; dup {
			return fmt.Errorf("environment: %s set twice", k)
		}
		out[k] = v
	}
	*e = out
	return nil
}

func scalarString(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case bool, int, int64, uint64, float64:
		return fmt.Sprint(x), nil
	default:
		return "", fmt.Errorf("want a scalar, got %T", v)
	}
}

// portSpec keeps the port as written; parse interprets it, so the raw
// (uninterpolated) file still decodes.
type portSpec struct {
	short string
	long  *portLong
}

type portLong struct {
	Target      any    `yaml:"target"`
	Published   any    `yaml:"published"`
	HostIP      string `yaml:"host_ip"`
	Protocol    string `yaml:"protocol"`
	Mode        string `yaml:"mode"`
	Name        string `yaml:"name"`
	AppProtocol string `yaml:"app_protocol"`
}

func (p *portSpec) UnmarshalYAML(unmarshal func(any) error) error {
	var v any
	if err := unmarshal(&v); err != nil {
		return err
	}
	if _, isMap := v.(map[string]any); isMap {
		var l portLong
		if err := unmarshal(&l); err != nil {
			return err
		}
		*p = portSpec{long: &l}
		return nil
	}
	s, err := scalarString(v)
	if err != nil {
		return fmt.Errorf("ports: %w", err)
	}
	*p = portSpec{short: s}
	return nil
}

func (p portSpec) String() string {
	if p.long != nil {
		return fmt.Sprintf("{target: %v, published: %v}", p.long.Target, p.long.Published)
	}
	return p.short
}

// port is one published mapping. Published is empty when Docker picks the
// host port.
type port struct {
	HostIP    string
	Published []int
	Target    []int
	Protocol  string
}

func (p portSpec) parse() (port, error) {
	if p.long != nil {
		target, err := scalarString(p.long.Target)
		if err != nil {
			return port{}, err
		}
		published, err := scalarString(p.long.Published)
		if err != nil {
			return port{}, err
		}
		return newPort(p.long.HostIP, published, target, p.long.Protocol)
	}
	spec, proto, _ := strings.Cut(p.short, "/")
	var hostIP string
	if strings.HasPrefix(spec, "[") { // [::1]:8080:80
		end := strings.Index(spec, "]:")
		if end < 0 {
			return port{}, fmt.Errorf("port %q: unterminated IPv6 address", p.short)
		}
		hostIP, spec = spec[1:end], spec[end+2:]
	}
	parts := strings.Split(spec, ":")
	switch {
	case len(parts) == 1:
		return newPort(hostIP, "", parts[0], proto)
	case len(parts) == 2:
		return newPort(hostIP, parts[0], parts[1], proto)
	case len(parts) == 3 && hostIP == "":
		return newPort(parts[0], parts[1], parts[2], proto)
	default:
		return port{}, fmt.Errorf("port %q: want [IP:]HOST:CONTAINER[/PROTO]", p.short)
	}
}

func newPort(hostIP, published, target, proto string) (port, error) {
	if proto == "" {
		proto = "tcp"
	}
	t, err := portRange(target)
	if err != nil {
		return port{}, fmt.Errorf("container port: %w", err)
	}
	var pub []int
	if published != "" {
		if pub, err = portRange(published); err != nil {
			return port{}, fmt.Errorf("host port: %w", err)
		}
	}
	return port{HostIP: hostIP, Published: pub, Target: t, Protocol: proto}, nil
}

func portRange(s string) ([]int, error) {
	lo, hi, isRange := strings.Cut(s, "-")
	if !isRange {
		hi = lo
	}
	a, err1 := strconv.Atoi(lo)
	b, err2 := strconv.Atoi(hi)
	if err1 != nil || err2 != nil || a < 1 || b > 65535 || a > b {
		return nil, fmt.Errorf("%q is not a port or port range", s)
	}
	var out []int
	for p := a; p <= b; p++ {
		out = append(out, p)
	}
	return out, nil
}

// volumeMount keeps the mount as written; parse interprets it.
type volumeMount struct {
	short string
	long  *volumeLong
}

type volumeLong struct {
	Type     string `yaml:"type"`
	Source   string `yaml:"source"`
	Target   string `yaml:"target"`
	ReadOnly bool   `yaml:"read_only"`
	Bind     any    `yaml:"bind"`
	Volume   any    `yaml:"volume"`
	Tmpfs    any    `yaml:"tmpfs"`
}

func (v *volumeMount) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err == nil {
		*v = volumeMount{short: s}
		return nil
	}
	var l volumeLong
	if err := unmarshal(&l); err != nil {
		return fmt.Errorf("volumes: want SOURCE:TARGET[:MODE] or a mapping: %w", err)
	}
	*v = volumeMount{long: &l}
	return nil
}

// mount is a parsed volume entry; Type is "volume" (named, or anonymous
// when Source is empty) or "bind".
type mount struct {
	Type, Source, Target string
	ReadOnly             bool
}

func (v volumeMount) parse() (mount, error) {
	if v.long != nil {
		if v.long.Type == "" || v.long.Target == "" {
			return mount{}, errors.New("long-form volume needs type and target")
		}
		return mount{Type: v.long.Type, Source: v.long.Source, Target: v.long.Target, ReadOnly: v.long.ReadOnly}, nil
	}
	parts := strings.Split(v.short, ":")
	var m mount
	switch len(parts) {
	case 1:
		m = mount{Target: parts[0]}
	case 2:
		m = mount{Source: parts[0], Target: parts[1]}
	case 3:
		m = mount{Source: parts[0], Target: parts[1]}
		for _, opt := range strings.Split(parts[2], ",") {
			if opt == "ro" {
				m.ReadOnly = true
			}
		}
	default:
		return mount{}, fmt.Errorf("volume %q: want [SOURCE:]TARGET[:MODE]", v.short)
	}
	switch {
	case m.Source == "":
		m.Type = "volume"
	case strings.HasPrefix(m.Source, "/"), strings.HasPrefix(m.Source, "."), strings.HasPrefix(m.Source, "~"):
		m.Type = "bind"
	default:
		m.Type = "volume"
	}
	if !strings.HasPrefix(m.Target, "/") {
		return mount{}, fmt.Errorf("volume %q: target must be an absolute path", v.short)
	}
	return m, nil
}

// dependsOn is depends_on: a list of names (condition service_started) or a
// mapping of name to condition.
type dependsOn map[string]dependency

type dependency struct {
	Condition string `yaml:"condition"`
	Restart   bool   `yaml:"restart"`
	Required  *bool  `yaml:"required"`
}

func (d *dependsOn) UnmarshalYAML(unmarshal func(any) error) error {
	var names []string
	if err := unmarshal(&names); err == nil {
		out := make(dependsOn, len(names))
		for _, n := range names {
			out[n] = dependency{Condition: "service_started"}
		}
		*d = out
		return nil
	}
	var m map[string]dependency
	if err := unmarshal(&m); err != nil {
		return fmt.Errorf("depends_on: want a list of services or a mapping: %w", err)
	}
	*d = m
	return nil
}

type healthcheck struct {
	Test          healthTest `yaml:"test"`
	Interval      string     `yaml:"interval"`
	Timeout       string     `yaml:"timeout"`
	Retries       int        `yaml:"retries"`
	StartPeriod   string     `yaml:"start_period"`
	StartInterval string     `yaml:"start_interval"`
	Disable       bool       `yaml:"disable"`
}

// healthTest is a healthcheck test; the string form means CMD-SHELL.
type healthTest []string

func (h *healthTest) UnmarshalYAML(unmarshal func(any) error) error {
	var list []string
	if err := unmarshal(&list); err == nil {
		*h = list
		return nil
	}
	var shell string
	if err := unmarshal(&shell); err != nil {
		return fmt.Errorf("healthcheck test: want a string or a list: %w", err)
	}
	*h = healthTest{"CMD-SHELL", shell}
	return nil
}

// enabled says whether the healthcheck runs something.
func (h *healthcheck) enabled() bool {
	return h != nil && !h.Disable && len(h.Test) > 1 && h.Test[0] != "NONE"
}

// loadStack reads a compose file and decodes it twice: as written, and with
// variables resolved to their defaults.
// dotEnv is what a .env file next to docker-compose.yml sets.
type dotEnv map[string]string

// Secrets of operatorEnv: made up here, as an operator makes their own.
var (
	notifySecret = strings.Repeat("n0", 20)
	webSecret    = strings.Repeat("w1", 20)
)

// operatorEnv is the least a .env must set for the stack to start: the
// serving tokens, which have no default, since a default token would be
// known to everyone who has read this repository.
var operatorEnv = dotEnv{
	"GRANARY_SERVE_TOKENS":       "worker:" + notifySecret + ",web:" + webSecret,
	"GRANARY_SERVE_NOTIFY_TOKEN": notifySecret,
}

func loadStack(path string, env dotEnv) (*stack, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseStack(data, filepath.Dir(path), env)
}

func parseStack(data []byte, dir string, env dotEnv) (*stack, error) {
	var raw composeFile
	if err := strictUnmarshal(data, &raw); err != nil {
		return nil, err
	}
	// Compose interpolates values after parsing (never keys, never
	// comments), so do the same on the generic tree, then decode that.
	var tree any
	if err := yaml.Unmarshal(data, &tree); err != nil {
		return nil, err
	}
	var errs []error
	tree = interpolateTree(tree, "", env, &errs)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	resolvedYAML, err := yaml.Marshal(tree)
	if err != nil {
		return nil, err
	}
	var resolved composeFile
	if err := strictUnmarshal(resolvedYAML, &resolved); err != nil {
		return nil, fmt.Errorf("after interpolation: %w", err)
	}
	if len(resolved.Services) == 0 {
		return nil, errors.New("no services")
	}
	return &stack{raw: &raw, resolved: &resolved, dir: dir}, nil
}

func strictUnmarshal(data []byte, v any) error {
	// x- keys are Compose extension fields, free-form by definition.
	return yaml.UnmarshalWithOptions(data, v, yaml.Strict(), yaml.AllowFieldPrefixes("x-"))
}

func interpolateTree(v any, path string, env dotEnv, errs *[]error) any {
	switch x := v.(type) {
	case map[string]any:
		for k, child := range x {
			x[k] = interpolateTree(child, path+"."+k, env, errs)
		}
		return x
	case []any:
		for i, child := range x {
			x[i] = interpolateTree(child, fmt.Sprintf("%s[%d]", path, i), env, errs)
		}
		return x
	case string:
		s, err := interpolate(x, env)
		if err != nil {
			*errs = append(*errs, fmt.Errorf("%s: %w", strings.TrimPrefix(path, "."), err))
		}
		return s
	default:
		return v
	}
}

// interpolate resolves Compose variables as Compose does with env as the
// .env file: $$ is a literal $; ${VAR:-default} and ${VAR-default} give
// VAR's value, or their default (itself interpolated); ${VAR:+alt} gives
// alt when VAR is set. ${VAR:?message} gives VAR's value and is an error
// when the .env does not set it, as Compose refuses to start. A variable
// with neither a default nor a ? is an error even when set: the stack must
// say what it does without one.
func interpolate(s string, env dotEnv) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' {
			b.WriteByte(c)
			continue
		}
		if i+1 >= len(s) {
			return "", fmt.Errorf("%q: lone $ at the end (write $$ for a literal $)", s)
		}
		switch next := s[i+1]; {
		case next == '$':
			b.WriteByte('$')
			i++
		case next == '{':
			end, err := closingBrace(s, i+1)
			if err != nil {
				return "", err
			}
			val, err := resolveVariable(s[i+2:end], env)
			if err != nil {
				return "", fmt.Errorf("%q: %w", s, err)
			}
			b.WriteString(val)
			i = end
		case isNameStart(next):
			j := i + 1
			for j < len(s) && isNameChar(s[j]) {
				j++
			}
			return "", fmt.Errorf("%q: $%s has no default; write ${%s:-default} (or $$ for a literal $)", s, s[i+1:j], s[i+1:j])
		default:
			return "", fmt.Errorf("%q: invalid interpolation at %q (write $$ for a literal $)", s, s[i:])
		}
	}
	return b.String(), nil
}

func closingBrace(s string, open int) (int, error) {
	depth := 0
	for j := open; j < len(s); j++ {
		switch s[j] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return j, nil
			}
		}
	}
	return 0, fmt.Errorf("%q: unterminated ${", s)
}

func resolveVariable(expr string, env dotEnv) (string, error) {
	n := 0
	for n < len(expr) && isNameChar(expr[n]) {
		n++
	}
	name, rest := expr[:n], expr[n:]
	if name == "" || !isNameStart(name[0]) {
		return "", fmt.Errorf("${%s}: bad variable name", expr)
	}
	val, set := env[name]
	switch {
	case rest == "":
		return "", fmt.Errorf("${%s} has no default; write ${%s:-default}", name, name)
	case strings.HasPrefix(rest, ":-"):
		if val != "" {
			return val, nil
		}
		return interpolate(rest[2:], env)
	case strings.HasPrefix(rest, "-"):
		if set {
			return val, nil
		}
		return interpolate(rest[1:], env)
	case strings.HasPrefix(rest, ":+"):
		if val != "" {
			return interpolate(rest[2:], env)
		}
		return "", nil
	case strings.HasPrefix(rest, "+"):
		if set {
			return interpolate(rest[1:], env)
		}
		return "", nil
	case strings.HasPrefix(rest, ":?"), strings.HasPrefix(rest, "?"):
		if val != "" || (set && !strings.HasPrefix(rest, ":")) {
			return val, nil
		}
		return "", fmt.Errorf("${%s} is required (%s), so the stack cannot start without it in .env", name, strings.TrimLeft(rest, ":?"))
	default:
		return "", fmt.Errorf("${%s}: unknown operator %q", expr, rest)
	}
}

func isNameStart(c byte) bool {
	return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
}

func isNameChar(c byte) bool { return isNameStart(c) || (c >= '0' && c <= '9') }

// parseImage splits an image reference into repository (without the
// docker.io/library/ prefixes), tag and digest.
func parseImage(ref string) (repo, tag, digest string) {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref, digest = ref[:i], ref[i+1:]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref, tag = ref[:i], ref[i+1:]
	}
	repo = strings.TrimPrefix(ref, "docker.io/")
	repo = strings.TrimPrefix(repo, "library/")
	return repo, tag, digest
}

// sortedNames returns the service names in a stable order for messages.
func (c *composeFile) sortedNames() []string {
	names := make([]string, 0, len(c.Services))
	for n := range c.Services {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// byImage finds the one service running the given image repository.
func (c *composeFile) byImage(repo string) (string, *service, error) {
	var found []string
	for _, n := range c.sortedNames() {
		if r, _, _ := parseImage(c.Services[n].Image); c.Services[n].Image != "" && r == repo {
			found = append(found, n)
		}
	}
	if len(found) != 1 {
		return "", nil, fmt.Errorf("want exactly one service running image %s, found %d %v", repo, len(found), found)
	}
	return found[0], c.Services[found[0]], nil
}

// byImageAndEnv finds the one service running repo whose environment sets
// key; it tells apart the two admin-tools one-shots.
func (c *composeFile) byImageAndEnv(repo, key string) (string, *service, error) {
	var found []string
	for _, n := range c.sortedNames() {
		s := c.Services[n]
		if r, _, _ := parseImage(s.Image); s.Image != "" && r == repo {
			if _, ok := s.Environment[key]; ok {
				found = append(found, n)
			}
		}
	}
	if len(found) != 1 {
		return "", nil, fmt.Errorf("want exactly one %s service setting %s, found %d %v", repo, key, len(found), found)
	}
	return found[0], c.Services[found[0]], nil
}

// granaryServices are the services built from this repository's Dockerfile.
func (c *composeFile) granaryServices() []string {
	var out []string
	for _, n := range c.sortedNames() {
		if c.Services[n].Build != nil {
			out = append(out, n)
		}
	}
	return out
}

// granaryCommand finds the built service whose command starts with sub
// ("worker", "serve").
func (c *composeFile) granaryCommand(sub string) (string, *service, error) {
	var found []string
	for _, n := range c.granaryServices() {
		if cmd := c.Services[n].Command; len(cmd) > 0 && cmd[0] == sub {
			found = append(found, n)
		}
	}
	if len(found) != 1 {
		return "", nil, fmt.Errorf("want exactly one service built from the Dockerfile running `granary %s`, found %d %v", sub, len(found), found)
	}
	return found[0], c.Services[found[0]], nil
}

// dependsTransitively says whether from waits, directly or not, for to.
func (c *composeFile) dependsTransitively(from, to string) bool {
	seen := map[string]bool{}
	queue := []string{from}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		s := c.Services[n]
		if s == nil || seen[n] {
			continue
		}
		seen[n] = true
		for dep := range s.DependsOn {
			if dep == to {
				return true
			}
			queue = append(queue, dep)
		}
	}
	return false
}

// scriptOf returns the text of the shell script a one-shot service runs:
// either inline (sh -c SCRIPT) or a bind-mounted file named by its
// entrypoint or command, read from the stack directory.
func (s *stack) scriptOf(name string) (string, error) {
	svc := s.resolved.Services[name]
	argv := append(append([]string{}, svc.Entrypoint...), svc.Command...)
	for i, a := range argv {
		if a == "-c" && i+1 < len(argv) {
			return argv[i+1], nil
		}
	}
	for _, v := range svc.Volumes {
		m, err := v.parse()
		if err != nil || m.Type != "bind" {
			continue
		}
		for _, a := range argv {
			if a == m.Target {
				text, err := os.ReadFile(filepath.Join(s.dir, m.Source))
				if err != nil {
					return "", fmt.Errorf("service %s runs %s, mounted from %s: %w", name, m.Target, m.Source, err)
				}
				return string(text), nil
			}
		}
	}
	return "", fmt.Errorf("service %s: cannot find the script it runs (want sh -c SCRIPT, or a bind-mounted file named in entrypoint/command)", name)
}

// shellWords splits one simple shell command into words, the way sh would
// for the one-liners in these files: quotes are removed and $VAR / ${VAR}
// are expanded from env. It stops at a comment or at the first unquoted
// ; & | < or > (the rest is not part of this command's arguments).
func shellWords(line string, env map[string]string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	quote := byte(0)
	flush := func() {
		if inWord {
			words = append(words, cur.String())
			cur.Reset()
			inWord = false
		}
	}
	expand := func(i int) (int, error) { // s[i] == '$'
		j := i + 1
		braced := j < len(line) && line[j] == '{'
		if braced {
			j++
		}
		start := j
		for j < len(line) && isNameChar(line[j]) {
			j++
		}
		name := line[start:j]
		if name == "" {
			cur.WriteByte('$')
			return i, nil
		}
		if braced {
			if j >= len(line) || line[j] != '}' {
				return 0, fmt.Errorf("%q: only plain ${NAME} is understood here", line)
			}
			j++
		}
		val, ok := env[name]
		if !ok {
			return 0, fmt.Errorf("%q uses $%s, which the service's environment does not set", line, name)
		}
		cur.WriteString(val)
		inWord = true
		return j - 1, nil
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote == '\'':
			if c == '\'' {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case quote == '"':
			switch c {
			case '"':
				quote = 0
			case '$':
				var err error
				if i, err = expand(i); err != nil {
					return nil, err
				}
			case '\\':
				if i+1 < len(line) {
					i++
					cur.WriteByte(line[i])
				}
			default:
				cur.WriteByte(c)
			}
		case c == '\'' || c == '"':
			quote = c
			inWord = true
		case c == '$':
			var err error
			if i, err = expand(i); err != nil {
				return nil, err
			}
		case c == '\\' && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
			inWord = true
		case c == ' ' || c == '\t':
			flush()
		case c == '#' && !inWord:
			flush()
			return words, nil
		case strings.IndexByte(";&|<>", c) >= 0:
			flush()
			return words, nil
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("%q: unterminated quote", line)
	}
	flush()
	return words, nil
}

// mcSetup is what the bucket-creating step does, read from its script.
type mcSetup struct {
	alias, url, user, password string
	buckets                    []string // as alias/bucket
}

func parseMcSetup(script string, env map[string]string) (mcSetup, error) {
	var out mcSetup
	for _, line := range strings.Split(script, "\n") {
		words, err := shellWords(strings.TrimSpace(line), env)
		if err != nil {
			return mcSetup{}, err
		}
		if len(words) < 2 || words[0] != "mc" {
			continue
		}
		switch {
		case len(words) >= 7 && words[1] == "alias" && words[2] == "set":
			if out.alias != "" {
				return mcSetup{}, fmt.Errorf("more than one `mc alias set`: %q and %q", out.alias, words[3])
			}
			out.alias, out.url, out.user, out.password = words[3], words[4], words[5], words[6]
		case words[1] == "mb":
			for _, w := range words[2:] {
				if !strings.HasPrefix(w, "-") {
					out.buckets = append(out.buckets, w)
				}
			}
		}
	}
	if out.alias == "" {
		return mcSetup{}, errors.New("no `mc alias set ALIAS URL USER PASSWORD` line")
	}
	if len(out.buckets) == 0 {
		return mcSetup{}, errors.New("no `mc mb ALIAS/BUCKET` line")
	}
	return out, nil
}

// dockerfile is the Dockerfile as a list of stages.
type dockerfile struct {
	stages []dfStage
}

type dfStage struct {
	image, name string
	lines       []string // instructions after FROM, continuations joined
}

func parseDockerfile(text string) (dockerfile, error) {
	var df dockerfile
	var logical []string
	var cur strings.Builder
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		// Docker drops blank and comment lines, even inside a continuation.
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\"))
			cur.WriteByte(' ')
			continue
		}
		cur.WriteString(trimmed)
		logical = append(logical, cur.String())
		cur.Reset()
	}
	if cur.Len() > 0 {
		return df, errors.New("Dockerfile ends in a line continuation")
	}
	for _, l := range logical {
		fields := strings.Fields(l)
		if strings.EqualFold(fields[0], "FROM") {
			args := fields[1:]
			for len(args) > 0 && strings.HasPrefix(args[0], "--") { // --platform=...
				args = args[1:]
			}
			if len(args) == 0 {
				return df, fmt.Errorf("FROM without an image: %q", l)
			}
			st := dfStage{image: args[0]}
			if len(args) == 3 && strings.EqualFold(args[1], "AS") {
				st.name = args[2]
			}
			df.stages = append(df.stages, st)
			continue
		}
		if len(df.stages) == 0 {
			if strings.EqualFold(fields[0], "ARG") {
				continue
			}
			return df, fmt.Errorf("instruction before the first FROM: %q", l)
		}
		last := &df.stages[len(df.stages)-1]
		last.lines = append(last.lines, l)
	}
	if len(df.stages) == 0 {
		return df, errors.New("no FROM")
	}
	return df, nil
}

// instructions returns a stage's instructions of one kind (RUN, COPY...).
func (st dfStage) instructions(kind string) []string {
	var out []string
	for _, l := range st.lines {
		if f := strings.Fields(l); strings.EqualFold(f[0], kind) {
			out = append(out, strings.TrimSpace(l[len(f[0]):]))
		}
	}
	return out
}
