// The reference for stackhook's YAML reader: gopkg.in/yaml.v2 (what kubectl, Helm and
// DataOS read manifests with). Reads the files named on the command line and prints,
// for each, every document decoded into interface{} as JSON (maps' keys as text, as
// the JSON form of a manifest has them), or the error.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"

	yaml "gopkg.in/yaml.v2"
)

type answer struct {
	File      string        `json:"file"`
	Documents []interface{} `json:"documents,omitempty"`
	Error     string        `json:"error,omitempty"`
}

// jsonable turns yaml.v2's map[interface{}]interface{} into JSON-encodable values.
func jsonable(v interface{}) (interface{}, error) {
	switch x := v.(type) {
	case map[interface{}]interface{}:
		out := make(map[string]interface{}, len(x))
		for k, item := range x {
			j, err := jsonable(item)
			if err != nil {
				return nil, err
			}
			out[fmt.Sprint(k)] = j
		}
		return out, nil
	case []interface{}:
		out := make([]interface{}, len(x))
		for i, item := range x {
			j, err := jsonable(item)
			if err != nil {
				return nil, err
			}
			out[i] = j
		}
		return out, nil
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return nil, fmt.Errorf("%v has no JSON form", x)
		}
		return x, nil
	default:
		return x, nil
	}
}

func main() {
	var answers []answer
	for _, file := range os.Args[1:] {
		text, err := os.ReadFile(file)
		if err != nil {
			panic(err)
		}
		a := answer{File: file, Documents: []interface{}{}}
		dec := yaml.NewDecoder(bytes.NewReader(text))
		for {
			var v interface{}
			err := dec.Decode(&v)
			if err == io.EOF {
				break
			}
			if err != nil {
				a.Error = err.Error()
				a.Documents = nil
				break
			}
			if v == nil {
				continue
			}
			j, err := jsonable(v)
			if err != nil {
				a.Error = err.Error()
				a.Documents = nil
				break
			}
			a.Documents = append(a.Documents, j)
		}
		answers = append(answers, a)
	}
	out, err := json.Marshal(answers)
	if err != nil {
		panic(err)
	}
	os.Stdout.Write(out)
}
