package cli_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	ucli "github.com/urfave/cli/v2"

	"github.com/granaryml/granary/cli"
)

// cmdTree is the command tree as a user types it: names and aliases.
type cmdTree struct {
	subs map[string]*cmdTree
	// subNames holds every name of a command below the top level, anywhere in
	// the tree: a word from this set next to a command group is a command
	// mention, not prose.
	subNames map[string]bool
}

func newCmdTree(cmds []*ucli.Command) *cmdTree {
	root := &cmdTree{subNames: map[string]bool{}}
	var add func(n *cmdTree, cmds []*ucli.Command, depth int)
	add = func(n *cmdTree, cmds []*ucli.Command, depth int) {
		n.subs = map[string]*cmdTree{}
		for _, c := range cmds {
			child := &cmdTree{}
			add(child, c.Subcommands, depth+1)
			for _, name := range append([]string{c.Name}, c.Aliases...) {
				n.subs[name] = child
				if depth > 0 && c.Name != "help" {
					root.subNames[name] = true
				}
			}
		}
	}
	add(root, cmds, 0)
	return root
}

func (t *cmdTree) isGroup(name string) bool {
	n := t.subs[name]
	return n != nil && len(n.subs) > 0
}

// resolve follows words as granary's argument parser would: through command
// groups until a command without subcommands, whose arguments the rest are.
func (t *cmdTree) resolve(words []string) bool {
	n := t
	for i, w := range words {
		next, ok := n.subs[w]
		if !ok {
			return i > 0 && len(n.subs) == 0
		}
		n = next
		if len(n.subs) == 0 {
			return true
		}
	}
	return true
}

var (
	// An example is a shell line: environment assignments, then granary.
	envPrefix = regexp.MustCompile(`^([A-Z_][A-Z0-9_]*=\S*\s+)*`)
	cmdWord   = regexp.MustCompile(`^[a-z][a-z0-9_.-]*$`)
	// In prose, "granary W1 W2" or a bare "GROUP W" where W may be "a/b".
	proseGranary = regexp.MustCompile(`\bgranary ([a-z][a-z-]*)(?: ([a-z][a-z-]*(?:/[a-z][a-z-]*)*))?`)
	prosePair    = regexp.MustCompile(`\b([a-z][a-z-]*) ([a-z][a-z-]*(?:/[a-z][a-z-]*)*)`)
)

// commandMentions returns every command path a help text points the reader
// at. Example lines (after "Examples:") are shell commands, so every granary
// invocation in them counts. Prose counts only where a word is a known
// command name: "granary turns raw files" is a sentence, but "features log"
// names a command, since log is the name of a granary command.
func commandMentions(text string, tree *cmdTree) [][]string {
	var out [][]string
	inExamples := false
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "Examples:":
			inExamples = true
			continue
		case strings.HasSuffix(trimmed, ":") && strings.ToUpper(trimmed) == trimmed:
			inExamples = false // a section header such as OPTIONS:
			continue
		}
		if !inExamples {
			continue
		}
		for _, seg := range regexp.MustCompile(`&&|\|\||\||;`).Split(trimmed, -1) {
			seg = envPrefix.ReplaceAllString(strings.TrimSpace(seg), "")
			fields := strings.Fields(seg)
			if len(fields) < 2 || fields[0] != "granary" || strings.HasPrefix(fields[1], "-") {
				continue
			}
			var words []string
			for _, f := range fields[1:] {
				if !cmdWord.MatchString(f) {
					break
				}
				words = append(words, f)
			}
			if len(words) > 0 {
				out = append(out, words)
			}
		}
	}

	for _, prose := range proseRuns(text) {
		out = append(out, proseMentions(prose, tree)...)
	}
	seen := map[string]bool{}
	return slices.DeleteFunc(out, func(words []string) bool {
		k := strings.Join(words, " ")
		dup := seen[k]
		seen[k] = true
		return dup
	})
}

// proseRuns joins the wrapped lines of each help section into one run of
// text, except in the COMMANDS and OPTIONS lists, whose lines are separate
// entries: joined, one entry's last word and the next entry's name would
// read as a pair ("in the lake" + "list ..." is not "lake list").
func proseRuns(text string) []string {
	var runs []string
	var cur []string
	listSection := false
	flush := func() {
		if len(cur) > 0 {
			runs = append(runs, strings.Join(cur, " "))
			cur = nil
		}
	}
	for _, line := range strings.Split(text, "\n") {
		if line != "" && line[0] != ' ' && strings.HasSuffix(line, ":") {
			flush()
			listSection = strings.HasSuffix(line, "COMMANDS:") || strings.HasSuffix(line, "OPTIONS:")
			continue
		}
		cur = append(cur, strings.Fields(line)...)
		if listSection {
			flush()
		}
	}
	flush()
	return runs
}

func proseMentions(prose string, tree *cmdTree) [][]string {
	var out [][]string
	for _, m := range proseGranary.FindAllStringSubmatch(prose, -1) {
		w1, w2 := m[1], m[2]
		switch {
		case tree.isGroup(w1) && w2 != "":
			for _, part := range strings.Split(w2, "/") {
				if tree.subNames[part] {
					out = append(out, []string{w1, part})
				}
			}
		case tree.subs[w1] == nil && tree.subNames[w1]:
			out = append(out, []string{w1})
		}
	}
	// Overlapping pairs: "dataset: features log shows" must see "features log".
	for i := 0; i < len(prose); {
		loc := prosePair.FindStringSubmatchIndex(prose[i:])
		if loc == nil {
			break
		}
		group, w := prose[i+loc[2]:i+loc[3]], prose[i+loc[4]:i+loc[5]]
		if tree.isGroup(group) {
			for _, part := range strings.Split(w, "/") {
				if tree.subNames[part] {
					out = append(out, []string{group, part})
				}
			}
		}
		i += loc[3] + 1 // resume at the second word, which may start a pair
	}
	return out
}

// helpTexts runs --help on the root and on every command, groups included.
func helpTexts(t *testing.T, cmds []*ucli.Command) map[string]string {
	t.Helper()
	texts := map[string]string{}
	var walk func(path []string, cmds []*ucli.Command)
	walk = func(path []string, cmds []*ucli.Command) {
		code, out, errOut := runCLI(t, t.Context(), append(slices.Clone(path), "--help")...)
		if code != 0 {
			t.Fatalf("granary %s --help: exit %d: %s", strings.Join(path, " "), code, errOut)
		}
		texts[strings.TrimSpace("granary "+strings.Join(path, " "))] = out
		for _, c := range cmds {
			if c.Name != "help" {
				walk(append(slices.Clone(path), c.Name), c.Subcommands)
			}
		}
	}
	walk(nil, cmds)
	return texts
}

// Help text teaches commands by name; one that names a command granary does
// not have sends the reader to an "unknown command" error.
func TestHelpMentionsOnlyRealCommands(t *testing.T) {
	cmds := cli.App(cli.Options{}).Commands
	tree := newCmdTree(cmds)
	texts := helpTexts(t, cmds)
	if len(texts) < 35 {
		t.Fatalf("only %d help texts; the walk is broken", len(texts))
	}
	for path, text := range texts {
		sawItself := false
		for _, words := range commandMentions(text, tree) {
			if !tree.resolve(words) {
				t.Errorf("%s --help mentions %q, which is not a granary command", path, "granary "+strings.Join(words, " "))
			}
			if strings.HasPrefix("granary "+strings.Join(words, " ")+" ", path+" ") {
				sawItself = true
			}
		}
		// Every command's examples show the command itself; when the scanner
		// does not find it there, it has stopped seeing mentions at all.
		if strings.Contains(text, "Examples:") && !sawItself {
			t.Errorf("%s --help: the scanner found no mention of the command in its own examples", path)
		}
	}
}

func TestCommandMentionsScanner(t *testing.T) {
	tree := newCmdTree(cli.App(cli.Options{}).Commands)
	cases := []struct {
		name, text string
		want       []string // each mention once, joined by spaces, examples first
		bad        []string // the mentions resolve must refuse
	}{
		{
			name: "a bare pair naming another group's subcommand",
			text: `"apply" stores it (versioned like a dataset: features log shows every apply)`,
			want: []string{"features log"},
			bad:  []string{"features log"},
		},
		{
			name: "prose about granary is not a command",
			text: "granary turns raw files into datasets; recent granary runs with their kind; the lake it was started with",
		},
		{
			name: "examples, with environment, pipes and chained commands",
			text: "DESCRIPTION:\n   Examples:\n      GRANARY_LAKE=file:///x granary dataset list --output json | jq .\n" +
				"      granary build churn --output json > p.json && granary frobnicate now\n      granary dataset frob x\n\nOPTIONS:\n   granary nothere\n",
			want: []string{"dataset list", "build churn", "frobnicate now", "dataset frob x"},
			bad:  []string{"frobnicate now", "dataset frob x"},
		},
		{
			name: "entries of a COMMANDS list do not run into each other",
			text: "COMMANDS:\n   apply    make it the current spec in the lake\n   list     feature views\n\nOPTIONS:\n   --help, -h  show help\n",
		},
		{
			name: "a subcommand used as a top-level command, and a/b alternatives",
			text: "run granary import first, then wait for granary model approve/reject",
			want: []string{"import", "model approve", "model reject"},
			bad:  []string{"import"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got, bad []string
			for _, words := range commandMentions(tc.text, tree) {
				s := strings.Join(words, " ")
				got = append(got, s)
				if !tree.resolve(words) {
					bad = append(bad, s)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("mentions %q, want %q", got, tc.want)
			}
			if !slices.Equal(bad, tc.bad) {
				t.Errorf("unresolved %q, want %q", bad, tc.bad)
			}
		})
	}
}
