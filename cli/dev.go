package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"
	"go.temporal.io/sdk/client"

	"github.com/granaryml/granary/internal/devstack"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore/storeurl"
	gworker "github.com/granaryml/granary/worker"
	"github.com/granaryml/granary/workflows"
)

// DevInfo is what `granary dev` writes to <state>/dev.json once every
// service is up: scripts (make demo) wait for this file instead of
// guessing at sleeps, and read the addresses from it.
type DevInfo struct {
	PID             int       `json:"pid"`
	TemporalAddress string    `json:"temporal_address"`
	Namespace       string    `json:"namespace"`
	UIURL           string    `json:"ui_url"`
	Lake            string    `json:"lake"`
	MinioEndpoint   string    `json:"minio_endpoint,omitempty"`
	ServeURL        string    `json:"serve_url"`
	ServeTokenFile  string    `json:"serve_token_file"`
	StateDir        string    `json:"state_dir"`
	Started         time.Time `json:"started"`
}

func devCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "dev",
		Usage: "run the whole stack on this machine: Temporal dev server + UI, a worker, and a local lake",
		Description: `Starts, in the foreground:
  - the Temporal dev server (bin/temporal, SQLite in <state>/temporal.db, UI on
    --ui-port) with granary's search attributes registered,
  - a granary worker,
  - the lake: file://<state>/lake, or with --minio a MinIO server
    (bin/minio, data in <state>/minio) and s3://granary/lake on it,
  - granary serve on --serve-port, its bearer token in <state>/serve-token
    (created once; the worker uses it to push alias moves).
Prints where everything is, writes <state>/dev.json when ready, and stops
everything on Ctrl-C or SIGTERM. State survives restarts.

Examples:
   granary dev
   granary dev --minio
   granary dev --state-dir /tmp/g --port 7300 --ui-port 8300`,
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "state-dir", Value: DefaultStateDir, Usage: "keep all state (Temporal DB, lake, logs) under `DIR`", EnvVars: []string{"GRANARY_STATE_DIR"}},
			&ucli.IntFlag{Name: "port", Value: 7233, Usage: "Temporal frontend `PORT`"},
			&ucli.IntFlag{Name: "ui-port", Value: 8233, Usage: "Temporal UI `PORT`"},
			&ucli.BoolFlag{Name: "minio", Usage: "also start MinIO and use it as the lake (exercises the S3 path locally)"},
			&ucli.IntFlag{Name: "minio-port", Value: 9000, Usage: "MinIO API `PORT` (console on PORT+1)"},
			&ucli.IntFlag{Name: "serve-port", Value: 8090, Usage: "granary serve `PORT` (0: any free port)"},
			allowEndpointFlag(),
		},
		Action: runDev,
	}
}

const (
	devMinioUser   = "granary"
	devMinioSecret = "granary-dev-secret"
	devMinioBucket = "granary"
)

func runDev(c *ucli.Context) error {
	ctx := c.Context
	log := c.App.ErrWriter
	state, err := filepath.Abs(c.String("state-dir"))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(state, 0o755); err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	logFile, err := os.OpenFile(filepath.Join(state, "dev.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	defer logFile.Close()

	temporalBin, err := devstack.FindBinary("temporal")
	if err != nil {
		return err
	}
	fprintf(log, "granary dev: starting Temporal dev server (%s)...\n", temporalBin)
	startCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	tsrv, err := devstack.StartTemporal(startCtx, devstack.TemporalOptions{
		Binary:           temporalBin,
		DBFile:           filepath.Join(state, "temporal.db"),
		Port:             c.Int("port"),
		UIPort:           c.Int("ui-port"),
		Namespace:        c.String(flagNamespace),
		SearchAttributes: workflows.SearchAttributeNames(),
		Log:              logFile,
	})
	if err != nil {
		return fmt.Errorf("start Temporal dev server: %w", err)
	}
	defer stopQuietly(log, "Temporal dev server", tsrv.Stop)

	lakeURL := c.String(flagLake)
	if !c.IsSet(flagLake) {
		lakeURL = "file://" + filepath.Join(state, "lake")
	}
	info := DevInfo{PID: os.Getpid(), TemporalAddress: tsrv.Address(), Namespace: tsrv.Namespace(), UIURL: tsrv.UIURL(), StateDir: state, Started: time.Now().UTC()}
	if c.Bool("minio") {
		msrv, url, err := startDevMinio(startCtx, c, state, logFile, log)
		if err != nil {
			return err
		}
		defer stopQuietly(log, "MinIO", msrv.Stop)
		lakeURL, info.MinioEndpoint = url, msrv.Endpoint()
	}
	info.Lake = lakeURL

	store, err := storeurl.Open(ctx, lakeURL)
	if err != nil {
		return fmt.Errorf("lake %s: %w", lakeURL, err)
	}
	allowed, err := sourceAllowlist(lakeURL, c.StringSlice("allow-endpoint"))
	if err != nil {
		return err
	}
	tc, err := client.DialContext(startCtx, client.Options{HostPort: tsrv.Address(), Namespace: tsrv.Namespace(), Logger: sdkLogger(log)})
	if err != nil {
		return fmt.Errorf("connect to the dev server: %w", err)
	}
	defer tc.Close()

	info.ServeTokenFile = filepath.Join(state, "serve-token")
	token, err := devServeToken(info.ServeTokenFile)
	if err != nil {
		return err
	}
	serveCtx, stopServe := context.WithCancel(ctx)
	defer stopServe()
	serveReady, serveDone := make(chan string, 1), make(chan error, 1)
	go func() {
		serveDone <- runServe(serveCtx, serveConfig{Addr: fmt.Sprintf("127.0.0.1:%d", c.Int("serve-port")), Lake: lake.New(store), Tokens: []string{token}, Poll: 2 * time.Second, Log: logFile}, serveReady)
	}()
	select {
	case addr := <-serveReady:
		info.ServeURL = "http://" + addr
	case err := <-serveDone:
		return fmt.Errorf("start granary serve: %w", err)
	}

	infoPath := filepath.Join(state, "dev.json")
	if err := writeJSONFile(infoPath, info); err != nil {
		return err
	}
	defer os.Remove(infoPath)
	printDevBanner(c.App.Writer, info)

	werr := runWorker(ctx, tc, gworker.Options{Store: store, MaxConcurrentActivities: 4, ServeURLs: []string{info.ServeURL}, ServeToken: token, AllowedEndpoints: allowed}, log)
	fprintf(log, "granary dev: shutting down\n")
	stopServe()
	if err := <-serveDone; err != nil {
		fprintf(log, "granary dev: serve: %v\n", err)
	}
	return werr
}

// devServeToken reads the dev stack's serving token, creating a random
// one (mode 0600) the first time.
func devServeToken(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		if t := strings.TrimSpace(string(b)); t != "" {
			return t, nil
		}
	}
	var raw [24]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	t := hex.EncodeToString(raw[:])
	if err := os.WriteFile(path, []byte(t+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("serve token: %w", err)
	}
	return t, nil
}

func startDevMinio(ctx context.Context, c *ucli.Context, state string, logFile io.Writer, log io.Writer) (*devstack.Minio, string, error) {
	bin, err := devstack.FindBinary("minio")
	if err != nil {
		return nil, "", err
	}
	fprintf(log, "granary dev: starting MinIO (%s)...\n", bin)
	port := c.Int("minio-port")
	m, err := devstack.StartMinio(ctx, devstack.MinioOptions{
		Binary: bin, DataDir: filepath.Join(state, "minio"), Port: port, ConsolePort: port + 1,
		AccessKey: devMinioUser, SecretKey: devMinioSecret, Log: logFile,
	})
	if err != nil {
		return nil, "", fmt.Errorf("start MinIO: %w", err)
	}
	if err := m.EnsureBucket(ctx, devMinioBucket); err != nil {
		_ = m.Stop()
		return nil, "", fmt.Errorf("create bucket %q: %w", devMinioBucket, err)
	}
	// The lake reads credentials only from the environment, the same way a
	// deployed worker does; the dev stack sets them for its own process.
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": devMinioUser, "AWS_SECRET_ACCESS_KEY": devMinioSecret} {
		if err := os.Setenv(k, v); err != nil {
			_ = m.Stop()
			return nil, "", err
		}
	}
	return m, fmt.Sprintf("s3://%s/lake?endpoint=%s&secure=false", devMinioBucket, m.Endpoint()), nil
}

func printDevBanner(w io.Writer, info DevInfo) {
	fprintf(w, "granary dev is running (Ctrl-C stops everything)\n")
	fprintf(w, "  Temporal    %s (namespace %s)\n", info.TemporalAddress, info.Namespace)
	fprintf(w, "  Temporal UI %s\n", info.UIURL)
	fprintf(w, "  lake        %s\n", info.Lake)
	if info.MinioEndpoint != "" {
		fprintf(w, "  MinIO       http://%s (user %s)\n", info.MinioEndpoint, devMinioUser)
	}
	fprintf(w, "  worker      task queue %q\n", workflows.TaskQueue)
	fprintf(w, "  serving     %s (bearer token in %s)\n", info.ServeURL, info.ServeTokenFile)
	fprintf(w, "  state       %s (logs in dev.log)\n", info.StateDir)
	fprintf(w, "try: granary --temporal-address %s lake check\n", info.TemporalAddress)
}

func stopQuietly(log io.Writer, what string, stop func() error) {
	if err := stop(); err != nil && !errors.Is(err, context.Canceled) {
		fprintf(log, "granary dev: stopping %s: %v\n", what, err)
	}
}

func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
