package features

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// Canonical is the spec as deterministic JSON: fields in declaration order,
// durations in nanoseconds, no HTML escaping, no trailing newline. Layout,
// comments, quoting and duration spelling (7d or 168h) of the YAML do not
// change it; reordering entries does, since order is meaningful (it orders
// output columns).
func (s *Spec) Canonical() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Digest is "sha256:" and the hex SHA-256 of Canonical, the spec's
// identity in workflow ids and lake manifests.
func (s *Spec) Digest() string {
	b, err := s.Canonical()
	if err != nil {
		// A Spec holds only strings, numbers and slices of them;
		// encoding cannot fail.
		panic("features: encoding spec: " + err.Error())
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}
