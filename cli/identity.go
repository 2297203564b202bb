package cli

import (
	"fmt"
	"os"
	"os/user"
)

// actor is who runs this command, as the operating system says: the audit
// trail records it rather than a name typed on the command line. A user
// with no passwd entry (a container running as an arbitrary uid) is
// recorded by uid, never as nobody.
func actor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return fmt.Sprintf("uid:%d", os.Getuid())
}

// temporalIdentity is the identity this process gives Temporal: the server
// records it on every workflow start and signal in the run's history, so
// the Temporal UI shows who asked, next to the lake's audit trail.
func temporalIdentity() string {
	h, _ := os.Hostname()
	return fmt.Sprintf("granary-cli:%s@%s:%d", actor(), h, os.Getpid())
}
