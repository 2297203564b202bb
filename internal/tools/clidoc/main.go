// Command clidoc rewrites the "## Command reference" part of docs/cli.md
// from the --help of every granary command, so the reference says what the
// build says. Everything above that heading is hand-written and kept.
//
//	go run ./internal/tools/clidoc            # rewrites docs/cli.md
//	go run ./internal/tools/clidoc -check     # exit 1 if docs/cli.md is stale
//
// It parses the help text rather than walking the urfave command tree so
// that the reference shows exactly what a user's `--help` prints (flag
// placeholders, defaults, environment variables).
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/granaryml/granary/cli"
)

const heading = "## Command reference"

func main() {
	doc := flag.String("doc", "docs/cli.md", "the CLI reference to rewrite")
	check := flag.Bool("check", false, "only report whether the reference is up to date")
	flag.Parse()
	if err := run(*doc, *check); err != nil {
		fmt.Fprintln(os.Stderr, "clidoc:", err)
		os.Exit(1)
	}
}

func run(path string, check bool) error {
	old, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	head, _, ok := strings.Cut(string(old), heading+"\n")
	if !ok {
		return fmt.Errorf("%s has no %q line", path, heading)
	}
	var ref strings.Builder
	if err := document(&ref, nil); err != nil {
		return err
	}
	updated := head + heading + "\n" + ref.String()
	if updated == string(old) {
		return nil
	}
	if check {
		return fmt.Errorf("%s is stale: run go run ./internal/tools/clidoc", path)
	}
	return os.WriteFile(path, []byte(updated), 0o644)
}

// help is one command's --help, split into its sections.
type help struct {
	usage, usageLine, description string
	commands                      [][2]string // name, what it does
	flags                         [][2]string // flag with placeholder, meaning
}

// document writes the reference of the command at path (nil: granary
// itself) and, depth first, of its subcommands.
func document(w *strings.Builder, path []string) error {
	h, err := helpOf(path)
	if err != nil {
		return err
	}
	name := strings.Join(append([]string{"granary"}, path...), " ")
	fmt.Fprintf(w, "\n### `%s`\n\n%s\n\n```\n%s\n```\n", name, sentence(h.usage), h.usageLine)
	if h.description != "" {
		fmt.Fprintf(w, "\n```text\n%s\n```\n", h.description)
	}
	if len(h.commands) > 0 {
		w.WriteString("\n| command | what it does |\n|---|---|\n")
		for _, c := range h.commands {
			sub := name + " " + c[0]
			fmt.Fprintf(w, "| [`%s`](#%s) | %s |\n", sub, anchor(sub), cell(c[1]))
		}
	}
	if len(h.flags) > 0 {
		w.WriteString("\n| flag | meaning |\n|---|---|\n")
		for _, f := range h.flags {
			fmt.Fprintf(w, "| `%s` | %s |\n", f[0], cell(f[1]))
		}
	}
	for _, c := range h.commands {
		if err := document(w, append(append([]string{}, path...), c[0])); err != nil {
			return err
		}
	}
	return nil
}

func helpOf(path []string) (help, error) {
	var out, errOut bytes.Buffer
	args := append(append([]string{"granary"}, path...), "--help")
	if code := cli.Run(context.Background(), args, cli.Options{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut}); code != 0 {
		return help{}, fmt.Errorf("%s: exit %d: %s", strings.Join(args, " "), code, errOut.String())
	}
	return parse(out.String())
}

// columns splits a help table row ("   name   what it does") where the
// padding between the two columns is.
var columns = regexp.MustCompile(`^ {3}(\S.*?) {2,}(\S.*)$`)

func parse(text string) (help, error) {
	var h help
	var section string
	var desc []string
	for line := range strings.SplitSeq(strings.TrimRight(text, "\n"), "\n") {
		if line != "" && !strings.HasPrefix(line, " ") && strings.HasSuffix(line, ":") {
			section = strings.TrimSuffix(line, ":")
			continue
		}
		switch section {
		case "NAME":
			if line != "" {
				_, usage, ok := strings.Cut(line, " - ")
				if !ok {
					return h, fmt.Errorf("NAME line without a usage: %q", line)
				}
				h.usage = usage
			}
		case "USAGE":
			if line != "" {
				h.usageLine = strings.TrimSpace(line)
			}
		case "DESCRIPTION":
			desc = append(desc, strings.TrimPrefix(line, "   "))
		case "COMMANDS", "OPTIONS", "GLOBAL OPTIONS":
			if line == "" {
				continue
			}
			m := columns.FindStringSubmatch(line)
			if m == nil {
				return h, fmt.Errorf("%s row without two columns: %q", section, line)
			}
			if section == "COMMANDS" {
				if m[1] == "help, h" {
					continue
				}
				h.commands = append(h.commands, [2]string{m[1], m[2]})
			} else if m[1] != "--help, -h" {
				h.flags = append(h.flags, [2]string{m[1], m[2]})
			}
		}
	}
	h.description = strings.TrimSpace(strings.Join(desc, "\n"))
	if h.usage == "" || h.usageLine == "" {
		return h, fmt.Errorf("help without NAME or USAGE:\n%s", text)
	}
	return h, nil
}

// sentence turns a command's one-line usage into the sentence under its
// heading.
func sentence(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	s = string(unicode.ToUpper(r)) + s[n:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

func anchor(heading string) string {
	return strings.ReplaceAll(heading, " ", "-")
}

// cell keeps a help text inside one markdown table cell.
func cell(s string) string {
	return strings.ReplaceAll(s, "|", `\|`)
}
