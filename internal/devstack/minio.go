package devstack

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// MinioOptions configures StartMinio. Zero values get defaults.
type MinioOptions struct {
	Binary string // default: FindBinary("minio")
	// DataDir holds the objects; empty uses a temporary directory that
	// Stop removes.
	DataDir     string
	IP          string // default 127.0.0.1
	Port        int    // S3 API; 0 picks a free port
	ConsolePort int    // web console; 0 picks a free port
	AccessKey   string // root user; default "granary"
	SecretKey   string // root password; default random
	Log         io.Writer
}

// Minio is a running single-drive MinIO server.
type Minio struct {
	proc      *process
	endpoint  string
	accessKey string
	secretKey string
	client    *minio.Client
	tempDir   string // removed by Stop when StartMinio created it
}

// StartMinio starts `minio server` and returns once it serves S3 requests
// with the root credentials. ctx bounds the wait (60s when it has no
// deadline), not the server's lifetime: call Stop.
func StartMinio(ctx context.Context, opts MinioOptions) (*Minio, error) {
	return retryPortClash(opts.Port == 0 && opts.ConsolePort == 0, func() (*Minio, error) { return startMinio(ctx, opts) })
}

func startMinio(ctx context.Context, opts MinioOptions) (*Minio, error) {
	var err error
	if opts.Binary == "" {
		if opts.Binary, err = FindBinary("minio"); err != nil {
			return nil, err
		}
	}
	if opts.IP == "" {
		opts.IP = "127.0.0.1"
	}
	if opts.AccessKey == "" {
		opts.AccessKey = "granary"
	}
	if opts.SecretKey == "" {
		opts.SecretKey = rand.Text() // MinIO wants at least 8 characters
	}
	if opts.Port, err = portOrFree(opts.Port); err != nil {
		return nil, err
	}
	if opts.ConsolePort, err = portOrFree(opts.ConsolePort); err != nil {
		return nil, err
	}
	m := &Minio{
		endpoint:  net.JoinHostPort(opts.IP, strconv.Itoa(opts.Port)),
		accessKey: opts.AccessKey,
		secretKey: opts.SecretKey,
	}
	if opts.DataDir == "" {
		if opts.DataDir, err = os.MkdirTemp("", "granary-minio-"); err != nil {
			return nil, fmt.Errorf("devstack: minio data dir: %w", err)
		}
		m.tempDir = opts.DataDir
	}
	m.client, err = minio.New(m.endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(opts.AccessKey, opts.SecretKey, ""),
		Secure: false,
		// Health polling must fail fast, not sit in the client's retries.
		MaxRetries: 1,
	})
	if err != nil {
		m.removeTempDir()
		return nil, fmt.Errorf("devstack: minio client: %w", err)
	}
	args := []string{
		"server", opts.DataDir,
		"--address", m.endpoint,
		"--console-address", net.JoinHostPort(opts.IP, strconv.Itoa(opts.ConsolePort)),
	}
	env := []string{
		"MINIO_ROOT_USER=" + opts.AccessKey,
		"MINIO_ROOT_PASSWORD=" + opts.SecretKey,
		"MINIO_UPDATE=off", // no network calls home from tests
	}
	if m.proc, err = startProcess("minio", opts.Binary, args, env, opts.Log); err != nil {
		m.removeTempDir()
		return nil, err
	}
	if err := m.proc.waitHealthy(ctx, m.healthy); err != nil {
		m.removeTempDir()
		return nil, err
	}
	return m, nil
}

// healthy needs both the liveness probe and a signed request: MinIO is
// "live" before its object layer accepts S3 calls.
func (m *Minio) healthy(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := httpOK(ctx, "http://"+m.endpoint+"/minio/health/live"); err != nil {
		return err
	}
	_, err := m.client.ListBuckets(ctx)
	return err
}

// Endpoint is the S3 API's host:port (plain HTTP).
func (m *Minio) Endpoint() string { return m.endpoint }

// AccessKey is the root user.
func (m *Minio) AccessKey() string { return m.accessKey }

// SecretKey is the root password.
func (m *Minio) SecretKey() string { return m.secretKey }

// Pid is the server's process id.
func (m *Minio) Pid() int { return m.proc.Pid() }

// EnsureBucket creates the bucket unless this server already has it.
func (m *Minio) EnsureBucket(ctx context.Context, name string) error {
	err := m.client.MakeBucket(ctx, name, minio.MakeBucketOptions{})
	if err != nil && minio.ToErrorResponse(err).Code != minio.BucketAlreadyOwnedByYou {
		return fmt.Errorf("devstack: create bucket %q: %w", name, err)
	}
	return nil
}

// Stop shuts the server down (SIGTERM, then SIGKILL after 10s) and removes
// a data directory StartMinio created. Calling it again returns the first
// result.
func (m *Minio) Stop() error {
	err := m.proc.stop()
	m.removeTempDir()
	return err
}

func (m *Minio) removeTempDir() {
	if m.tempDir != "" {
		_ = os.RemoveAll(m.tempDir)
	}
}
