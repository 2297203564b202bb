package cli

import (
	"slices"
	"testing"
)

func TestInterspersedMovesFlagsBeforeArguments(t *testing.T) {
	app := App(Options{})
	cases := []struct{ in, want []string }{
		{
			[]string{"granary", "dataset", "import", "orders", "a.csv", "--tag", "v1", "--wait"},
			[]string{"granary", "dataset", "import", "--tag", "v1", "--wait", "orders", "a.csv"},
		},
		{
			[]string{"granary", "--output", "json", "dataset", "show", "orders@prod"},
			[]string{"granary", "--output", "json", "dataset", "show", "orders@prod"},
		},
		{
			[]string{"granary", "dataset", "export", "orders", "--out=/tmp/x", "--format", "csv"},
			[]string{"granary", "dataset", "export", "--out=/tmp/x", "--format", "csv", "orders"},
		},
		{ // global flags after the command go back to the front
			[]string{"granary", "extract", "user_orders", "--wait", "--output", "json", "--lake=file:///x"},
			[]string{"granary", "--output", "json", "--lake=file:///x", "extract", "--wait", "user_orders"},
		},
		{ // "--" ends flags: a file literally named --wait stays an argument
			[]string{"granary", "dataset", "import", "orders", "--", "--wait"},
			[]string{"granary", "dataset", "import", "orders", "--", "--wait"},
		},
		{ // a positional that happens to equal a command name is not a command
			[]string{"granary", "dataset", "show", "list"},
			[]string{"granary", "dataset", "show", "list"},
		},
	}
	for _, c := range cases {
		if got := interspersed(app, c.in); !slices.Equal(got, c.want) {
			t.Errorf("interspersed(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}
