package client

import (
	"context"
	"fmt"
	"net/url"
)

// ModelAlias is the model version an alias points at, with what a
// service needs to load and check it.
type ModelAlias struct {
	Model   string `json:"model"`
	Alias   string `json:"alias"`
	Version string `json:"version"` // model version id
	// Artifact describes the model's files; nil if the version has none.
	Artifact *Artifact `json:"artifact,omitempty"`
	// Inputs are the lake versions the model was trained from (training
	// set, feature views, spec).
	Inputs []Input `json:"inputs,omitempty"`
}

// Artifact describes a model's files, stored in the lake as one
// content-addressed blob.
type Artifact struct {
	Digest    string             `json:"digest"` // "sha256:<hex>"
	Bytes     int64              `json:"bytes"`
	Files     int                `json:"files"`
	Framework string             `json:"framework,omitempty"`
	Metrics   map[string]float64 `json:"metrics,omitempty"`
}

// Input names one lake object a model version was derived from.
type Input struct {
	Role    string `json:"role"` // e.g. "training_set", "view", "spec"
	Kind    string `json:"kind,omitempty"`
	Name    string `json:"name,omitempty"`
	Version string `json:"version,omitempty"`
	Digest  string `json:"digest,omitempty"`
}

// ModelAlias reads where alias (e.g. "prod") of model name points. An
// unknown model or alias is an error for which IsNotFound is true.
func (c *Client) ModelAlias(ctx context.Context, name, alias string) (*ModelAlias, error) {
	if name == "" || alias == "" {
		return nil, fmt.Errorf("%w: model alias needs a model name and an alias, got %q and %q", ErrInvalidArgument, name, alias)
	}
	req := &request{method: "GET", path: "/v1/models/" + url.PathEscape(name) + "/aliases/" + url.PathEscape(alias)}
	resp, err := c.do(ctx, req)
	if err != nil {
		return nil, err
	}
	var ma ModelAlias
	if err := decode(req, resp.body, &ma); err != nil {
		return nil, err
	}
	if err := checkVersion(req, resp, ma.Version); err != nil {
		return nil, err
	}
	return &ma, nil
}
