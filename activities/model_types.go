package activities

import (
	"time"

	"github.com/granaryml/granary/internal/lake"
)

// PromoteRequest asks to point a model alias at a version.
type PromoteRequest struct {
	ID              string        `json:"id"` // unique per request; names its audit events
	Model           string        `json:"model"`
	Version         string        `json:"version"`
	Alias           string        `json:"alias"`
	Gates           []string      `json:"gates,omitempty"`
	RequireApproval bool          `json:"require_approval,omitempty"`
	ApprovalTimeout time.Duration `json:"approval_timeout,omitempty"`
	// By is who asked: the requester's OS user, as the CLI found it.
	By string `json:"by,omitempty"`
	// Identity is the Temporal client identity the request was sent with
	// (user@host and process), which the server also records in the
	// workflow's history.
	Identity string `json:"identity,omitempty"`
	Reason   string `json:"reason,omitempty"`
	// Rollback requests restore a version: one that has held the alias
	// before skips the gates and the approval, any other goes through
	// them like a promotion.
	Rollback bool `json:"rollback,omitempty"`
}

// AuditInput records one audit event.
type AuditInput struct {
	Event lake.AuditEvent `json:"event"`
}

// VerifyModelInput names the candidate.
type VerifyModelInput struct {
	Model   string `json:"model"`
	Version string `json:"version"`
}

// VerifyModelResult is what verification found.
type VerifyModelResult struct {
	Files   int                `json:"files"`
	Bytes   int64              `json:"bytes"`
	Lineage []lake.Input       `json:"lineage,omitempty"`
	Metrics map[string]float64 `json:"metrics,omitempty"`
}

// ChampionInput names an alias.
type ChampionInput struct {
	Model string `json:"model"`
	Alias string `json:"alias"`
}

// ChampionResult is the version an alias points at now (empty when the
// alias does not exist yet) and its metrics.
type ChampionResult struct {
	Version string             `json:"version,omitempty"`
	Metrics map[string]float64 `json:"metrics,omitempty"`
}

// GatesInput evaluates gate expressions.
type GatesInput struct {
	Gates     []string           `json:"gates"`
	Candidate map[string]float64 `json:"candidate"`
	Champion  map[string]float64 `json:"champion,omitempty"` // nil: no champion
	// NoChampion is modelgate's no_champion ("" or skip, fail): what a gate
	// whose verdict depends on a missing champion gives.
	NoChampion string `json:"no_champion,omitempty"`
}

// GateResult is one gate's verdict.
type GateResult struct {
	Gate    string `json:"gate"`
	Passed  bool   `json:"passed"`
	Skipped bool   `json:"skipped,omitempty"` // refers to a champion that does not exist
	Detail  string `json:"detail,omitempty"`
}

// GatesResult lists every verdict.
type GatesResult struct {
	Passed  bool         `json:"passed"`
	Results []GateResult `json:"results"`
}

// MoveAliasInput moves a model alias by compare-and-swap: From is the
// version the promotion saw (empty: the alias must not exist).
type MoveAliasInput struct {
	Model    string `json:"model"`
	Alias    string `json:"alias"`
	From     string `json:"from,omitempty"`
	To       string `json:"to"`
	By       string `json:"by,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Workflow string `json:"workflow,omitempty"`
}

// MoveAliasResult is the move made.
type MoveAliasResult struct {
	Move lake.RefMove `json:"move"`
}

// NotifyInput tells serving that an alias moved.
type NotifyInput struct {
	Model   string `json:"model,omitempty"`
	View    string `json:"view,omitempty"` // a serving index alias moved
	Alias   string `json:"alias"`
	Version string `json:"version"`
}

// NotifyResult says who was told.
type NotifyResult struct {
	Notified []string `json:"notified,omitempty"`
}

// CommitModelInput is a model version to register: its artifact files,
// already uploaded by digest, and what describes them. It holds every
// field of the version's content, so equal inputs are one version.
type CommitModelInput struct {
	Name      string             `json:"name"`
	Files     []lake.File        `json:"files"`
	Framework string             `json:"framework,omitempty"`
	Metrics   map[string]float64 `json:"metrics,omitempty"`
	Params    map[string]string  `json:"params,omitempty"`
	// TrainingSet is the resolved dataset version the model was trained on.
	TrainingSet *lake.Input `json:"training_set,omitempty"`
}

// CommitModelResult is the committed version.
type CommitModelResult struct {
	Version  string      `json:"version"`
	Created  bool        `json:"created"`
	Artifact lake.Digest `json:"artifact"`
	Bytes    int64       `json:"bytes"`
}

// ModelManifest is the manifest a model version is committed as. Its
// layout fixes model version ids (cli/testdata/golden pins them): change
// it only with a new manifest format.
func ModelManifest(in CommitModelInput) *lake.Manifest {
	m := &lake.Manifest{Kind: lake.KindModel, Name: in.Name, Params: in.Params, Files: in.Files}
	if in.TrainingSet != nil {
		m.Inputs = []lake.Input{*in.TrainingSet}
	}
	m.Artifact = &lake.Artifact{Digest: ArtifactDigest(in.Files), Files: len(in.Files), Framework: in.Framework, Metrics: in.Metrics}
	for _, f := range in.Files {
		m.Artifact.Bytes += f.Bytes
	}
	return m
}
