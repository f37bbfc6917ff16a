package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"
)

// stdinName is the -f value that reads standard input, and the file name
// printed for it.
const stdinName = "-"

// manifestExtensions are the extensions of the files taken from a directory;
// a file named directly is read whatever its name.
var manifestExtensions = map[string]bool{".yaml": true, ".yml": true, ".json": true}

// inputVisitor receives each input in order: its name as printed, and its
// content or the reason it could not be read.
type inputVisitor func(name string, data []byte, err error)

// visitInputs reads every -f value in order: "-" is standard input, a
// directory is walked recursively for manifest files in lexical order, and
// anything else is read as a file. An unreadable input does not stop the
// others from being read.
func visitInputs(names []string, stdin io.Reader, visit inputVisitor) {
	for _, name := range names {
		if name == stdinName {
			data, err := io.ReadAll(stdin)
			if err != nil {
				err = fmt.Errorf("cannot read standard input: %w", err)
			}
			visit(stdinName, data, err)
			continue
		}
		info, err := os.Stat(name)
		switch {
		case err != nil:
			visit(name, nil, readError(err))
		case !info.IsDir():
			data, err := os.ReadFile(name) //nolint:gosec // G304: the user named this file with -f to have it read.
			visit(name, data, readError(err))
		default:
			visitDirectory(name, visit)
		}
	}
}

// visitDirectory visits the manifest files under dir, recursively.
func visitDirectory(dir string, visit inputVisitor) {
	found := false
	walkErr := filepath.WalkDir(dir, func(path string, entry fs.DirEntry, err error) error {
		if err != nil {
			visit(path, nil, readError(err))
			return nil
		}
		if entry.IsDir() || !manifestExtensions[strings.ToLower(filepath.Ext(path))] {
			return nil
		}
		found = true
		// Not through an os.Root: a symlink under the directory may lead out
		// of it, and check reads what it leads to.
		data, err := os.ReadFile(path) //nolint:gosec // G304: a file under the directory the user named with -f.
		visit(path, data, readError(err))
		return nil
	})
	if walkErr != nil {
		visit(dir, nil, readError(walkErr))
	} else if !found {
		// Checking nothing must not look like checking successfully.
		visit(dir, nil, errors.New("no .yaml, .yml or .json file in this directory"))
	}
}

// readError drops the operation and path that *fs.PathError repeats, since
// the report already names the file.
func readError(err error) error {
	if err == nil {
		return nil
	}
	if pathErr, ok := errors.AsType[*fs.PathError](err); ok {
		return fmt.Errorf("cannot read: %w", pathErr.Err)
	}
	return fmt.Errorf("cannot read: %w", err)
}

// rawDocument is one YAML document of a file and the line it starts on.
type rawDocument struct {
	firstLine int
	data      []byte
}

// splitDocuments splits a YAML stream into documents at "---" lines, with
// the rule kubectl applies (k8s.io/apimachinery/pkg/util/yaml YAMLReader):
// a line that starts with "---" followed by nothing but spaces or a comment.
// It keeps each document's first line so that YAML errors can name lines
// of the file, not of the document.
func splitDocuments(data []byte) []rawDocument {
	var docs []rawDocument
	current := rawDocument{firstLine: 1}
	lines := bytes.SplitAfter(data, []byte("\n"))
	for i, line := range lines {
		if rest, ok := bytes.CutPrefix(line, []byte("---")); ok {
			if trimmed := bytes.TrimSpace(rest); len(trimmed) == 0 || trimmed[0] == '#' {
				docs = append(docs, current)
				current = rawDocument{firstLine: i + 2}
				continue
			}
		}
		current.data = append(current.data, line...)
	}
	return append(docs, current)
}

// parsedDocument is a document decoded as the API server decodes what
// kubectl sends: YAML converted to JSON, then JSON with whole numbers kept
// as integers.
type parsedDocument struct {
	// content is the decoded document; nil for an empty document (only
	// spaces or comments), which is not counted.
	content any
	err     error
}

// parseDocument decodes one YAML document. Duplicate keys are an error, as
// they are for kubectl's strict field validation, because which value wins
// is not what the author meant.
func parseDocument(doc rawDocument) parsedDocument {
	data, err := yaml.YAMLToJSONStrict(doc.data)
	if err != nil {
		return parsedDocument{err: fmt.Errorf("invalid YAML: %s", yamlErrorMessage(err, doc.firstLine))}
	}
	var content any
	if err := utiljson.Unmarshal(data, &content); err != nil {
		return parsedDocument{err: fmt.Errorf("invalid YAML: %w", err)}
	}
	return parsedDocument{content: content}
}

// yamlLine finds the line numbers in the YAML parser's messages.
var yamlLine = regexp.MustCompile(`\bline (\d+)`)

// yamlErrorMessage turns the YAML parser's error into one line whose line
// numbers count from the top of the file, the document starting on
// firstLine.
func yamlErrorMessage(err error, firstLine int) string {
	msg := strings.TrimPrefix(err.Error(), "error converting YAML to JSON: ")
	msg = strings.ReplaceAll(msg, "yaml: ", "")
	var parts []string
	for part := range strings.SplitSeq(msg, "\n") {
		if part = strings.TrimSpace(part); part != "" {
			parts = append(parts, part)
		}
	}
	msg = strings.Join(parts, " ")
	return yamlLine.ReplaceAllStringFunc(msg, func(match string) string {
		n, err := strconv.Atoi(yamlLine.FindStringSubmatch(match)[1])
		if err != nil {
			return match
		}
		return "line " + strconv.Itoa(n+firstLine-1)
	})
}
