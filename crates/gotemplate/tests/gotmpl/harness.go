// The reference for the gotemplate crate: Go's text/template with Sprig (as Debian
// ships them) and the functions Helm adds (toYaml, fromYaml, required, …), defined as
// Helm defines them.
//
// Input (stdin): a JSON list of {"name", "template", "data"}; output (stdout): a JSON
// list of {"name", "output"} or {"name", "error"}, in order.
//
// Build: GO111MODULE=off GOPATH=/usr/share/gocode go build -o harness harness.go
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/template"

	"github.com/BurntSushi/toml"
	"github.com/Masterminds/sprig"
	"github.com/ghodss/yaml"
)

type testCase struct {
	Name     string          `json:"name"`
	Template string          `json:"template"`
	Data     json.RawMessage `json:"data"`
}

type result struct {
	Name   string  `json:"name"`
	Output *string `json:"output,omitempty"`
	Error  *string `json:"error,omitempty"`
}

// Helm's toYaml: sigs.k8s.io/yaml (a fork of ghodss/yaml), trailing newline trimmed.
func toYAML(v interface{}) string {
	data, err := yaml.Marshal(v)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(data), "\n")
}

// Helm's fromYaml: a map, or {"Error": message}.
func fromYAML(str string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := yaml.Unmarshal([]byte(str), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

// Helm's fromJson: a map, or {"Error": message} (Sprig's gives nil; Helm's replaces it).
func fromJSON(str string) map[string]interface{} {
	m := make(map[string]interface{})
	if err := json.Unmarshal([]byte(str), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

// Helm's fromYamlArray: a list, or [message].
func fromYAMLArray(str string) []interface{} {
	a := []interface{}{}
	if err := yaml.Unmarshal([]byte(str), &a); err != nil {
		a = []interface{}{err.Error()}
	}
	return a
}

// Helm's fromJsonArray: a list, or [message].
func fromJSONArray(str string) []interface{} {
	a := []interface{}{}
	if err := json.Unmarshal([]byte(str), &a); err != nil {
		a = []interface{}{err.Error()}
	}
	return a
}

// Helm's toToml: BurntSushi/toml's encoder, or the error's text.
func toTOML(v interface{}) string {
	b := bytes.NewBuffer(nil)
	e := toml.NewEncoder(b)
	err := e.Encode(v)
	if err != nil {
		return err.Error()
	}
	return b.String()
}

// Helm's required.
func required(warn string, val interface{}) (interface{}, error) {
	if val == nil {
		return val, errors.New(warn)
	} else if _, ok := val.(string); ok {
		if val == "" {
			return val, errors.New(warn)
		}
	}
	return val, nil
}

// Helm's include: a defined template's output as a string.
func includeFun(t *template.Template) func(string, interface{}) (string, error) {
	return func(name string, data interface{}) (string, error) {
		var buf strings.Builder
		err := t.ExecuteTemplate(&buf, name, data)
		return buf.String(), err
	}
}

// Helm 3's tpl (pkg/engine/engine.go), with one difference: Helm names the parsed
// text after .Template.Name, which an application's data need not have; the engine
// names it after the template being rendered (here the case), which is what .Template.Name
// holds in Helm.
func tplFun(parent *template.Template, name string) func(string, map[string]interface{}) (string, error) {
	return func(tpl string, vals map[string]interface{}) (string, error) {
		t, err := parent.Clone()
		if err != nil {
			return "", fmt.Errorf("cannot clone template: %w", err)
		}
		t.Option("missingkey=zero")
		t.Funcs(template.FuncMap{
			"include": includeFun(t),
			"tpl":     tplFun(t, name),
		})
		t, err = t.New(name).Parse(tpl)
		if err != nil {
			return "", fmt.Errorf("cannot parse template %q: %w", tpl, err)
		}
		var buf strings.Builder
		if err := t.Execute(&buf, vals); err != nil {
			return "", fmt.Errorf("error during tpl function execution for %q: %w", tpl, err)
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
}

func main() {
	var cases []testCase
	if err := json.NewDecoder(os.Stdin).Decode(&cases); err != nil {
		fmt.Fprintln(os.Stderr, "reading cases:", err)
		os.Exit(2)
	}
	funcs := sprig.TxtFuncMap()
	funcs["toYaml"] = toYAML
	funcs["fromYaml"] = fromYAML
	funcs["fromYamlArray"] = fromYAMLArray
	funcs["fromJson"] = fromJSON
	funcs["fromJsonArray"] = fromJSONArray
	funcs["toToml"] = toTOML
	funcs["required"] = required
	out := make([]result, 0, len(cases))
	for _, c := range cases {
		r := result{Name: c.Name}
		var data interface{}
		if len(c.Data) > 0 {
			if err := json.Unmarshal(c.Data, &data); err != nil {
				fmt.Fprintln(os.Stderr, c.Name, "data:", err)
				os.Exit(2)
			}
		}
		// Helm's include: a defined template's output as a string.
		t := template.New(c.Name)
		caseFuncs := template.FuncMap{}
		for k, v := range funcs {
			caseFuncs[k] = v
		}
		caseFuncs["include"] = includeFun(t)
		caseFuncs["tpl"] = tplFun(t, c.Name)
		_, err := t.Funcs(caseFuncs).Parse(c.Template)
		if err == nil {
			var buf bytes.Buffer
			err = t.Execute(&buf, data)
			if err == nil {
				s := buf.String()
				r.Output = &s
			}
		}
		if err != nil {
			s := err.Error()
			r.Error = &s
		}
		out = append(out, r)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		os.Exit(2)
	}
}
