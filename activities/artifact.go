package activities

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/granaryml/granary/internal/lake"
)

// ArtifactDigest is a model artifact's identity: the sha256 of its
// canonical file listing (path, digest, bytes, sorted by path as
// registered). A single file and a directory are handled alike, and
// changing any byte of any file, or renaming one, changes it.
func ArtifactDigest(files []lake.File) lake.Digest {
	type entry struct {
		Path   string      `json:"path"`
		Digest lake.Digest `json:"digest"`
		Bytes  int64       `json:"bytes"`
	}
	list := make([]entry, len(files))
	for i, f := range files {
		list[i] = entry{f.Partition, f.Digest, f.Bytes}
	}
	b, _ := json.Marshal(list)
	sum := sha256.Sum256(b)
	return lake.Digest("sha256:" + hex.EncodeToString(sum[:]))
}
