package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"go.temporal.io/sdk/activity"

	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore"
)

// LakeVerifyInput asks for a scrub of the whole lake.
type LakeVerifyInput struct {
	// Repair quarantines corrupt blobs (see lake.ScrubOptions.Repair).
	Repair bool
	// Report is the lake key the full report is written to; the workflow
	// derives it from its id, so a retried attempt overwrites its own.
	Report string
}

// LakeVerifyResult is what a scrub found. Its lists are cut to keep the
// workflow's payload small; the object at Report holds them all.
type LakeVerifyResult struct {
	Repair          bool                  `json:"repair"`
	Versions        int                   `json:"versions"`
	Refs            int                   `json:"refs"`
	Blobs           int                   `json:"blobs"`
	Bytes           int64                 `json:"bytes"` // bytes re-hashed (by every attempt that contributed)
	Damaged         bool                  `json:"damaged"`
	BlobProblems    []lake.BlobProblem    `json:"blob_problems,omitempty"`
	VersionProblems []lake.VersionProblem `json:"version_problems,omitempty"`
	// Regenerate lists, for every damaged version, how to produce its
	// blobs again.
	Regenerate []Regeneration `json:"regenerate,omitempty"`
	// Omitted counts entries cut from the lists above (see Report).
	Omitted int    `json:"omitted,omitempty"`
	Report  string `json:"report"`
	Worker  string `json:"worker,omitempty"`
}

// Regeneration says how to write a damaged version's blobs again.
type Regeneration struct {
	Kind     lake.Kind `json:"kind"`
	Name     string    `json:"name"`
	Version  string    `json:"version"`
	Refs     []string  `json:"refs,omitempty"`
	Commands []string  `json:"commands"`
	Note     string    `json:"note,omitempty"`
}

// LakeVerifyReportPrefix is where full reports are kept.
const LakeVerifyReportPrefix = "_granary/verify/"

// Result lists are cut at these sizes (Temporal payloads are limited to
// 2 MB); the report object is not.
const (
	maxListedProblems = 100
	maxListedUsers    = 20
	// maxResumeProblems bounds what heartbeat details carry: a retried
	// attempt resumes after the last blob checked only while the problems
	// found before it fit; beyond that it starts over.
	maxResumeProblems = 200
)

// verifyResume is the second heartbeat detail of LakeVerify: where a
// retried attempt picks up.
type verifyResume struct {
	After lake.Digest        `json:"after"`
	Bytes int64              `json:"bytes"`
	Found []lake.BlobProblem `json:"found,omitempty"`
}

// LakeVerify re-hashes every blob the lake's versions name and checks
// their manifests and refs (lake.Scrub), optionally quarantining corrupt
// blobs, and writes the full report to in.Report. Heartbeats carry the
// blobs checked so far; a retry resumes after the last one.
func (a *Activities) LakeVerify(ctx context.Context, in LakeVerifyInput) (LakeVerifyResult, error) {
	if err := objstore.ValidateKey(in.Report); err != nil || !strings.HasPrefix(in.Report, LakeVerifyReportPrefix) {
		return LakeVerifyResult{}, toTemporal(fmt.Errorf("%w: lake verify report key %q must be a key under %s", objstore.ErrInvalidKey, in.Report, LakeVerifyReportPrefix))
	}
	ctx, stop := a.watch(ctx)
	defer stop()
	l := lake.New(a.Store)
	var resume verifyResume
	if activity.IsActivity(ctx) && activity.HasHeartbeatDetails(ctx) {
		var d struct {
			Resume *verifyResume `json:"resume"`
		}
		if err := activity.GetHeartbeatDetails(ctx, &d); err == nil && d.Resume != nil {
			resume = *d.Resume
		}
	}
	found := slices.Clone(resume.Found)
	bytes0 := resume.Bytes
	opts := lake.ScrubOptions{Repair: in.Repair, Now: a.now(), After: resume.After,
		OnBlob: func(done, total int, d lake.Digest, p *lake.BlobProblem) {
			noteItems(ctx, int64(done), int64(total))
			if p != nil {
				found = append(found, *p)
			}
			if len(found) <= maxResumeProblems {
				setResume(ctx, verifyResume{After: d, Bytes: bytes0 + trackerBytes(ctx), Found: slices.Clone(found)})
			} else {
				setResume(ctx, nil)
			}
		}}
	rep, err := l.Scrub(ctx, opts)
	if err != nil {
		return LakeVerifyResult{}, toTemporal(fmt.Errorf("lake verify: %w", err))
	}
	rep.BlobProblems = found
	full := LakeVerifyResult{
		Repair: in.Repair, Versions: rep.Versions, Refs: rep.Refs, Blobs: rep.Blobs, Bytes: bytes0 + rep.Bytes,
		BlobProblems: rep.BlobProblems, VersionProblems: rep.VersionProblems,
		Report: in.Report, Worker: a.Identity,
	}
	full.Damaged = len(full.BlobProblems)+len(full.VersionProblems) > 0
	if full.Regenerate, err = regenerations(ctx, l, rep); err != nil {
		return LakeVerifyResult{}, toTemporal(err)
	}
	b, err := json.MarshalIndent(full, "", "  ")
	if err != nil {
		return LakeVerifyResult{}, err
	}
	if _, err := a.Store.Put(ctx, in.Report, bytes.NewReader(b), int64(len(b))); err != nil {
		return LakeVerifyResult{}, toTemporal(fmt.Errorf("lake verify report: %w", err))
	}
	return full.cut(), nil
}

// cut returns r with its lists shortened for a workflow payload.
func (r LakeVerifyResult) cut() LakeVerifyResult {
	short := func(n int) int {
		if n > maxListedProblems {
			r.Omitted += n - maxListedProblems
			return maxListedProblems
		}
		return n
	}
	r.BlobProblems = slices.Clone(r.BlobProblems[:short(len(r.BlobProblems))])
	for i := range r.BlobProblems {
		if u := r.BlobProblems[i].UsedBy; len(u) > maxListedUsers {
			r.Omitted += len(u) - maxListedUsers
			r.BlobProblems[i].UsedBy = u[:maxListedUsers]
		}
	}
	r.VersionProblems = r.VersionProblems[:short(len(r.VersionProblems))]
	r.Regenerate = r.Regenerate[:short(len(r.Regenerate))]
	return r
}

// regenerations lists every damaged version once, with how to rebuild it.
func regenerations(ctx context.Context, l *lake.Lake, rep lake.ScrubReport) ([]Regeneration, error) {
	type key struct {
		kind     lake.Kind
		name, id string
	}
	refs := map[key][]string{}
	var order []key
	add := func(k key, r []string) {
		if _, ok := refs[k]; !ok {
			order = append(order, k)
			refs[k] = nil
		}
		for _, ref := range r {
			if !slices.Contains(refs[k], ref) {
				refs[k] = append(refs[k], ref)
			}
		}
	}
	for _, p := range rep.BlobProblems {
		for _, u := range p.UsedBy {
			add(key{u.Kind, u.Name, u.Version}, u.Refs)
		}
	}
	for _, p := range rep.VersionProblems {
		if p.Problem == lake.ProblemManifest {
			add(key{p.Kind, p.Name, p.Version}, p.Refs)
		}
	}
	out := make([]Regeneration, 0, len(order))
	for _, k := range order {
		r, err := regeneration(ctx, l, k.kind, k.name, k.id)
		if err != nil {
			return nil, err
		}
		r.Refs = refs[k]
		out = append(out, r)
	}
	return out, nil
}

// regeneration works out, from a version's manifest and provenance, the
// commands that write its blobs again. Every granary command that starts
// a workflow attaches to a completed identical run instead of redoing it,
// so the first way is to reset that run; the command itself helps once
// the run has left Temporal's retention.
func regeneration(ctx context.Context, l *lake.Lake, k lake.Kind, name, id string) (Regeneration, error) {
	r := Regeneration{Kind: k, Name: name, Version: id}
	provs, err := l.Provenances(ctx, k, name, id)
	if err != nil {
		return r, err
	}
	for _, p := range provs {
		if p.WorkflowID != "" {
			cmd := fmt.Sprintf("temporal workflow reset --workflow-id %s --type FirstWorkflowTask --reason %q", shellQuote(p.WorkflowID), "regenerate blobs damaged in the lake")
			if !slices.Contains(r.Commands, cmd) {
				r.Commands = append(r.Commands, cmd)
			}
		}
	}
	m, err := l.GetManifest(ctx, k, name, id)
	if err != nil {
		// A corrupt manifest: only the runs that made it can say more.
		r.Note = "the manifest itself is damaged; rerun what produced this version (see its runs with `granary runs list`)"
		return r, nil
	}
	cmd, note := rebuildCommand(ctx, l, m, provs)
	if cmd != "" {
		r.Commands = append(r.Commands, cmd)
	}
	r.Note = note
	if k != lake.KindModel && k != lake.KindSpec {
		r.Note = strings.TrimSpace(r.Note + " The reset re-runs the run that wrote this version; the granary command attaches to that run while Temporal still has it, so it helps only after the run's retention. Either re-reads this version's inputs: if verify lists them as damaged too, regenerate them first.")
	}
	return r, nil
}

func rebuildCommand(ctx context.Context, l *lake.Lake, m *lake.Manifest, provs []lake.Provenance) (cmd, note string) {
	input := func(role string) *lake.Input {
		for i := range m.Inputs {
			if m.Inputs[i].Role == role {
				return &m.Inputs[i]
			}
		}
		return nil
	}
	switch {
	case m.Kind == lake.KindDataset && strings.HasPrefix(m.Name, "view."):
		view := strings.TrimPrefix(m.Name, "view.")
		cmd = "granary extract " + shellQuote(view)
		if src := input("source"); src != nil {
			cmd += " --source " + shellQuote(src.Name+"@"+src.Version)
		}
		if n := m.Params["shards"]; n != "" {
			cmd += " --shards " + n
		}
		return cmd + " --wait", "extract reads the current spec: the same version comes out only if the view's definition is unchanged."
	case m.Kind == lake.KindDataset && strings.HasPrefix(m.Name, "training."):
		pins := struct {
			Spec  string            `json:"spec,omitempty"`
			Spine string            `json:"spine,omitempty"`
			Views map[string]string `json:"views,omitempty"`
		}{Views: map[string]string{}}
		project := ""
		for _, in := range m.Inputs {
			switch in.Role {
			case "spine":
				pins.Spine = in.Version
			case "view":
				pins.Views[strings.TrimPrefix(in.Name, "view.")] = in.Version
			case "spec":
				project = in.Name
				pins.Spec = specVersionOf(ctx, l, in.Name, in.Digest)
			}
		}
		b, _ := json.Marshal(pins)
		cmd = fmt.Sprintf("echo %s > pins.json && granary build %s", shellQuote(string(b)), shellQuote(strings.TrimPrefix(m.Name, "training.")))
		if project != "" {
			cmd += " --project " + shellQuote(project)
		}
		return cmd + " --pin pins.json --wait", ""
	case m.Kind == lake.KindDataset:
		var files []string
		for _, p := range provs {
			for _, s := range p.Sources {
				if !slices.Contains(files, s.Name) {
					files = append(files, s.Name)
				}
			}
		}
		if len(files) == 0 {
			files = []string{"FILE..."}
		}
		for i := range files {
			files[i] = shellQuote(files[i])
		}
		return fmt.Sprintf("granary dataset import %s %s --wait", shellQuote(m.Name), strings.Join(files, " ")),
			"with the same files and the same --schema/--format options as the original import; the CLI uploads the raw files again."
	case m.Kind == lake.KindIndex:
		cmd = "granary materialize " + shellQuote(m.Name)
		if v := input("view"); v != nil {
			cmd += " --version " + v.Version
		}
		return cmd + " --wait", "materialize reads the current spec: the same version comes out only if the view's definition is unchanged."
	case m.Kind == lake.KindModel:
		cmd = fmt.Sprintf("granary model register %s ARTIFACT", shellQuote(m.Name))
		if ts := input("training_set"); ts != nil {
			cmd += " --dataset " + shellQuote(ts.Name+"@"+ts.Version)
		}
		if m.Artifact != nil && m.Artifact.Framework != "" {
			cmd += " --framework " + shellQuote(m.Artifact.Framework)
		}
		for _, k := range slices.Sorted(maps.Keys(m.Params)) {
			cmd += " --param " + shellQuote(k+"="+m.Params[k])
		}
		return cmd, "ARTIFACT is the same file or directory that was registered (and --metrics the same file); registering identical files gives the same version and uploads the missing ones."
	case m.Kind == lake.KindSpec:
		file := m.Params["file"]
		if file == "" {
			file = "SPEC.yaml"
		}
		return "granary features apply " + shellQuote(file), "with the same spec file that was applied."
	}
	return "", ""
}

// specVersionOf finds the spec version of project whose canonical digest
// is digest (a build records the digest, `build --pin` wants the id).
func specVersionOf(ctx context.Context, l *lake.Lake, project string, digest lake.Digest) string {
	ids, err := l.ListVersions(ctx, lake.KindSpec, project)
	if err != nil {
		return ""
	}
	for _, id := range ids {
		if m, err := l.GetManifest(ctx, lake.KindSpec, project, id); err == nil && m.Params["spec_digest"] == string(digest) {
			return id
		}
	}
	return ""
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("@%+=:,./_-", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
