// Package buildinfo names the running code so lake provenance and
// `granary version` can say exactly which build produced a result.
package buildinfo

import "runtime/debug"

// Version is set at link time (-ldflags "-X ...buildinfo.Version=v1.2.3");
// otherwise it falls back to the VCS revision Go embedded, then "dev".
var Version = ""

// String returns the best available description of this build.
func String() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		var rev, dirty string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "-dirty"
				}
			}
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if rev != "" {
			return rev + dirty
		}
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version
		}
	}
	return "dev"
}
