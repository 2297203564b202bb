package serving

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"strings"
)

// ErrBadToken matches every refused token or tokens file.
var ErrBadToken = errors.New("bad serving token")

// MinTokenLength is the shortest secret accepted: 32 characters of random
// hex already carry 128 bits, so a token that short or longer cannot be
// guessed; anything shorter is likely a password or a placeholder.
const MinTokenLength = 32

// maxTokensFile bounds what ReadTokensFile reads: a tokens file holds a
// few lines per client.
const maxTokensFile = 1 << 20

// Token is one accepted bearer token. Name is who uses it (a service, a
// team); it is what serving records as the actor of what is done with
// the token, since the secret itself must never be logged.
type Token struct {
	Name   string
	Secret string
}

var tokenName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$`)

// ParseToken reads "name:secret", or a bare secret (the format before
// tokens had names), whose name is then "token#" and the first 8 hex digits
// of the secret's SHA-256: enough to tell tokens apart in logs, nothing
// that helps guess one. A bare secret that itself contains ':' after
// something that looks like a name must be written name:secret.
func ParseToken(s string) (Token, error) {
	s = strings.TrimSpace(s)
	t := Token{Secret: s}
	if name, secret, ok := strings.Cut(s, ":"); ok && tokenName.MatchString(name) {
		t = Token{Name: name, Secret: strings.TrimSpace(secret)}
	}
	if len(t.Secret) < MinTokenLength {
		who := "the token"
		if t.Name != "" {
			who = fmt.Sprintf("token %q", t.Name)
		}
		return Token{}, fmt.Errorf("%w: %s is %d characters; at least %d (128 random bits) are needed, e.g. `openssl rand -hex 32`", ErrBadToken, who, len(t.Secret), MinTokenLength)
	}
	if strings.ContainsFunc(t.Secret, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return Token{}, fmt.Errorf("%w: a token may not contain spaces or control characters", ErrBadToken)
	}
	if t.Name == "" {
		sum := sha256.Sum256([]byte(t.Secret))
		t.Name = "token#" + hex.EncodeToString(sum[:4])
	}
	return t, nil
}

// TokensFromList parses a comma-separated list of tokens (the format of
// GRANARY_SERVE_TOKENS); source names the list in errors. Empty entries
// are ignored.
func TokensFromList(source, list string) ([]string, error) {
	var out []string
	for i, entry := range strings.Split(list, ",") {
		if strings.TrimSpace(entry) == "" {
			continue
		}
		if _, err := ParseToken(entry); err != nil {
			return nil, fmt.Errorf("%s entry %d: %w", source, i+1, err)
		}
		out = append(out, strings.TrimSpace(entry))
	}
	return out, nil
}

// ReadTokensFile reads one token per line ("name:secret" or a bare
// secret; blank lines and # comments ignored). It refuses a file that
// anyone but its owner may read or write: the file is the server's whole
// authentication, and a token readable by every local user or container
// sharing the volume is no secret.
func ReadTokensFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tokens file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("tokens file: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: tokens file %s is not a regular file", ErrBadToken, path)
	}
	// Windows has no such mode bits; its ACLs are not checked here.
	if perm := st.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("%w: tokens file %s has mode %04o: group or others may read or write it; run chmod 600 %s (in Kubernetes, mount the secret with defaultMode 0400)", ErrBadToken, path, perm, path)
	}
	if st.Size() > maxTokensFile {
		return nil, fmt.Errorf("%w: tokens file %s is %d bytes, more than the %d allowed", ErrBadToken, path, st.Size(), maxTokensFile)
	}
	var out []string
	sc := bufio.NewScanner(io.LimitReader(f, maxTokensFile))
	sc.Buffer(make([]byte, 0, 4096), maxTokensFile)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		if _, err := ParseToken(text); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		out = append(out, text)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("tokens file %s: %w", path, err)
	}
	return out, nil
}

// parseTokens checks a server's tokens: each must parse, and one secret
// may not carry two names, or what it did could not be told apart.
func parseTokens(entries []string) ([]Token, error) {
	var out []Token
	names := map[string]string{}
	for i, e := range entries {
		if strings.TrimSpace(e) == "" {
			continue
		}
		t, err := ParseToken(e)
		if err != nil {
			return nil, fmt.Errorf("serving: token %d: %w", i+1, err)
		}
		if prev, ok := names[t.Secret]; ok && prev != t.Name {
			return nil, fmt.Errorf("serving: %w: tokens %q and %q have the same secret", ErrBadToken, prev, t.Name)
		}
		names[t.Secret] = t.Name
		out = append(out, t)
	}
	return out, nil
}
