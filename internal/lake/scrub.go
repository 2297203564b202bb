package lake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/granaryml/granary/internal/objstore"
)

// QuarantinePrefix holds blobs a repairing scrub took out of service. It
// is outside objects/, so no reader is served them and GC never looks at
// them; they are kept for inspection, and removing them is the operator's
// call.
const QuarantinePrefix = "_granary/quarantine/"

// Problems a scrub reports.
const (
	ProblemMissing       = "missing"          // a manifest names a blob that is not stored
	ProblemCorrupt       = "corrupt"          // the stored bytes do not hash to the digest
	ProblemManifest      = "corrupt manifest" // does not hash to its id, or is not a manifest
	ProblemRef           = "unreadable ref"
	ProblemDanglingRef   = "ref to a missing version"
	ProblemChangedDuring = "changed while being repaired"
)

// ScrubOptions controls Scrub.
type ScrubOptions struct {
	// Repair quarantines every corrupt blob: its bytes are moved under
	// QuarantinePrefix, so readers get "not found" instead of bad bytes,
	// and the next upload of the same content (which skips blobs that
	// exist) writes it again. Nothing else is ever changed: manifests and
	// refs are immutable records, and a missing blob cannot be conjured.
	Repair bool
	// Now stamps quarantine keys (default time.Now).
	Now time.Time
	// After resumes a scrub: blobs are checked in digest order, and those
	// at or before After are skipped.
	After Digest
	// OnBlob, if set, is called after each blob is checked, with the
	// count checked so far (including those skipped by After), the total,
	// and the problem found (nil if the blob is intact).
	OnBlob func(done, total int, d Digest, p *BlobProblem)
}

// ScrubReport is what Scrub found. Problems are in digest order (blobs)
// and walk order (versions and refs).
type ScrubReport struct {
	Versions        int              `json:"versions"` // manifests read
	Refs            int              `json:"refs"`
	Blobs           int              `json:"blobs"`   // distinct blobs the manifests name
	Checked         int              `json:"checked"` // blobs re-hashed by this call
	Bytes           int64            `json:"bytes"`   // bytes re-hashed by this call
	BlobProblems    []BlobProblem    `json:"blob_problems,omitempty"`
	VersionProblems []VersionProblem `json:"version_problems,omitempty"`
}

// BlobProblem is one missing or corrupt blob and every version using it.
type BlobProblem struct {
	Digest  Digest `json:"digest"`
	Key     string `json:"key"`
	Problem string `json:"problem"`
	Detail  string `json:"detail,omitempty"`
	// QuarantinedTo is where a repairing scrub moved the bytes.
	QuarantinedTo string `json:"quarantined_to,omitempty"`
	// RepairNote says why a corrupt blob was left in place.
	RepairNote string       `json:"repair_note,omitempty"`
	UsedBy     []VersionUse `json:"used_by"`
}

// VersionUse is one version naming a blob.
type VersionUse struct {
	Kind    Kind     `json:"kind"`
	Name    string   `json:"name"`
	Version string   `json:"version"`
	File    string   `json:"file,omitempty"` // the file's partition or path in the version
	Refs    []string `json:"refs,omitempty"` // refs pointing at the version
}

// VersionProblem is a damaged manifest or ref.
type VersionProblem struct {
	Kind    Kind     `json:"kind"`
	Name    string   `json:"name"`
	Version string   `json:"version,omitempty"`
	Ref     string   `json:"ref,omitempty"`
	Problem string   `json:"problem"`
	Detail  string   `json:"detail,omitempty"`
	Refs    []string `json:"refs,omitempty"` // refs pointing at the version
}

// versionKey3 names a version across kinds.
type versionKey3 struct {
	kind     Kind
	name, id string
}

// Scrub re-hashes every blob that any version's manifest names (every
// version, not only those refs point at: old versions stay reproducible
// and are what a rollback moves to), and checks every manifest and ref on
// the way. It returns the damage with the versions and refs it affects.
// Only I/O failures are errors; damage is the report. Memory grows with
// the number of versions and blobs (their digests and users), not with
// the data.
func (l *Lake) Scrub(ctx context.Context, o ScrubOptions) (ScrubReport, error) {
	var rep ScrubReport
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	versions, refs, err := l.scrubListing(ctx)
	if err != nil {
		return rep, err
	}
	known := make(map[versionKey3]bool, len(versions))
	for _, v := range versions {
		known[v] = true
	}
	// refsTo: which refs point at each version.
	refsTo := map[versionKey3][]string{}
	for _, r := range refs {
		rep.Refs++
		ref, _, err := l.GetRef(ctx, r.kind, r.name, r.id)
		switch {
		case errors.Is(err, ErrCorrupt):
			rep.VersionProblems = append(rep.VersionProblems, VersionProblem{Kind: r.kind, Name: r.name, Ref: r.id, Problem: ProblemRef, Detail: err.Error()})
			continue
		case errors.Is(err, ErrNotFound):
			continue // deleted since the listing
		case err != nil:
			return rep, err
		}
		v := versionKey3{r.kind, r.name, ref.Version}
		refsTo[v] = append(refsTo[v], r.id)
		if !known[v] {
			rep.VersionProblems = append(rep.VersionProblems, VersionProblem{Kind: r.kind, Name: r.name, Version: ref.Version, Ref: r.id, Problem: ProblemDanglingRef,
				Detail: fmt.Sprintf("%s %s ref %q points at version %s, which has no manifest", kindNoun(r.kind), r.name, r.id, ShortID(ref.Version))})
		}
	}

	type blobInfo struct {
		bytes int64
		users []VersionUse
	}
	blobs := map[Digest]*blobInfo{}
	use := func(d Digest, size int64, u VersionUse) {
		b := blobs[d]
		if b == nil {
			b = &blobInfo{bytes: size}
			blobs[d] = b
		}
		b.users = append(b.users, u)
	}
	for _, v := range versions {
		m, err := l.GetManifest(ctx, v.kind, v.name, v.id)
		switch {
		case errors.Is(err, ErrCorrupt):
			rep.VersionProblems = append(rep.VersionProblems, VersionProblem{Kind: v.kind, Name: v.name, Version: v.id, Problem: ProblemManifest, Detail: err.Error(), Refs: refsTo[v]})
			continue
		case errors.Is(err, ErrNotFound):
			continue // removed since the listing
		case err != nil:
			return rep, err
		}
		rep.Versions++
		for _, f := range BlobsOf(m) {
			use(f.Digest, f.Bytes, VersionUse{Kind: v.kind, Name: v.name, Version: v.id, File: f.Partition, Refs: refsTo[v]})
		}
	}

	order := make([]Digest, 0, len(blobs))
	for d := range blobs {
		order = append(order, d)
	}
	slices.Sort(order)
	rep.Blobs = len(order)
	for i, d := range order {
		if o.After != "" && d <= o.After {
			if o.OnBlob != nil {
				o.OnBlob(i+1, len(order), d, nil)
			}
			continue
		}
		p, n, err := l.scrubBlob(ctx, d, o)
		if err != nil {
			return rep, err
		}
		rep.Checked++
		rep.Bytes += n
		if p != nil {
			p.UsedBy = blobs[d].users
			rep.BlobProblems = append(rep.BlobProblems, *p)
			p = &rep.BlobProblems[len(rep.BlobProblems)-1]
		}
		if o.OnBlob != nil {
			o.OnBlob(i+1, len(order), d, p)
		}
	}
	return rep, nil
}

// BlobsOf lists the blobs a version cannot be read without: its files
// and, for a version whose artifact is one stored file (a feature spec),
// that file. A model's artifact digest names its file listing, not a
// blob, and inputs name other versions (or a spec's canonical digest).
func BlobsOf(m *Manifest) []File {
	files := slices.Clone(m.Files)
	if m.Artifact != nil && len(m.Files) == 0 {
		files = append(files, File{Digest: m.Artifact.Digest, Bytes: m.Artifact.Bytes, Partition: "artifact"})
	}
	return files
}

// scrubListing lists every version and ref of every kind, page by page.
func (l *Lake) scrubListing(ctx context.Context) (versions, refs []versionKey3, err error) {
	for _, k := range []Kind{KindDataset, KindModel, KindSpec, KindIndex} {
		prefix := string(k) + "/"
		for obj, err := range objstore.All(ctx, l.store, prefix) {
			if err != nil {
				return nil, nil, err
			}
			parts := strings.Split(strings.TrimPrefix(obj.Key, prefix), "/")
			if len(parts) != 3 {
				continue
			}
			switch {
			case parts[1] == "versions" && strings.HasSuffix(parts[2], ".json"):
				versions = append(versions, versionKey3{k, parts[0], strings.TrimSuffix(parts[2], ".json")})
			case parts[1] == "refs":
				refs = append(refs, versionKey3{k, parts[0], parts[2]})
			}
		}
	}
	return versions, refs, nil
}

// scrubBlob re-hashes one blob. It returns the problem found (nil when
// intact), the bytes hashed, and an error only for I/O failures.
func (l *Lake) scrubBlob(ctx context.Context, d Digest, o ScrubOptions) (*BlobProblem, int64, error) {
	key := BlobKey(d)
	rc, info, err := l.OpenBlob(ctx, d)
	if errors.Is(err, ErrNotFound) {
		return &BlobProblem{Digest: d, Key: key, Problem: ProblemMissing, Detail: "no object at " + key}, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	n, err := io.Copy(io.Discard, rc)
	rc.Close()
	var ce *CorruptBlobError
	switch {
	case errors.As(err, &ce):
		n = ce.Size // hashed in full; the last bytes were withheld
		p := &BlobProblem{Digest: d, Key: key, Problem: ProblemCorrupt, Detail: ce.Error()}
		if o.Repair {
			p.QuarantinedTo, p.RepairNote, err = l.quarantine(ctx, d, info.ETag, o.Now)
			if err != nil {
				return nil, n, err
			}
		}
		return p, n, nil
	case err != nil:
		return nil, n, err
	}
	return nil, n, nil
}

// quarantine moves a corrupt blob's bytes under QuarantinePrefix and
// removes the blob, provided it is still the object that was found
// corrupt (etag): a concurrent upload may have rewritten it with good
// bytes since, and those must stay. The check and the delete are two
// calls, so a rewrite in between can still be removed; the next upload
// or scrub sees the blob missing and it is written again. note says why
// nothing was done.
func (l *Lake) quarantine(ctx context.Context, d Digest, etag string, now time.Time) (to, note string, err error) {
	key := BlobKey(d)
	rc, info, err := l.store.Get(ctx, key, objstore.GetOptions{})
	if errors.Is(err, objstore.ErrNotFound) {
		return "", "removed by someone else since it was checked", nil
	}
	if err != nil {
		return "", "", err
	}
	defer rc.Close()
	if info.ETag != etag {
		return "", ProblemChangedDuring + ": rewritten since it was checked; scrub again", nil
	}
	to = QuarantinePrefix + "sha256/" + d.Hex() + "/" + now.UTC().Format("20060102T150405.000000000Z")
	if _, err := l.store.Put(ctx, to, rc, info.Size); err != nil {
		return "", "", fmt.Errorf("quarantine %s: %w", key, err)
	}
	cur, err := l.store.Stat(ctx, key)
	switch {
	case errors.Is(err, objstore.ErrNotFound):
		return to, "", nil
	case err != nil:
		return "", "", err
	case cur.ETag != etag:
		return to, ProblemChangedDuring + ": rewritten while being quarantined, left in place; scrub again", nil
	}
	if err := l.store.Delete(ctx, key); err != nil {
		return "", "", fmt.Errorf("quarantine %s: %w", key, err)
	}
	return to, "", nil
}
