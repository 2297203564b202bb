package features

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestDeepNesting(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("DEEP_N"))
	srcs := []string{
		"project: " + strings.Repeat("[", n),
		"project: " + strings.Repeat("[", n) + strings.Repeat("]", n),
		"project: " + strings.Repeat("{a: ", n) + "1" + strings.Repeat("}", n),
		strings.Repeat("a:\n ", n),
		"project: p\nsources: [{name: s, dataset: d, timestamp: t, filter: '" + strings.Repeat("(", n) + "x" + strings.Repeat(")", n) + "'}]\n",
		"project: p\nsources: [{name: s, dataset: d, timestamp: t, filter: '" + strings.Repeat("-", n) + "x'}]\n",
	}
	i, _ := strconv.Atoi(os.Getenv("DEEP_I"))
	start := time.Now()
	_, err := Parse("deep.yaml", []byte(srcs[i]))
	t.Logf("%d bytes in %v: %.200v", len(srcs[i]), time.Since(start), err)
}
