// Command patch-apply times what kube-apiserver does with a mutating webhook's answer:
// decode the JSON patch and apply it to the object it sent, with the library and the
// version k8s.io/apiserver v0.37.2 uses for it (gopkg.in/evanphx/json-patch.v4
// v4.13.0, mutating/dispatcher.go). scripts/bench-patch-apply.sh runs it.
//
// usage: patch-apply REVIEW.json RESPONSE.json
//
// It prints one JSON line: the patch's operations and bytes, ns and allocations per
// apply.
package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"testing"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: patch-apply REVIEW.json RESPONSE.json")
		os.Exit(2)
	}
	var review struct {
		Request struct {
			Object json.RawMessage `json:"object"`
		} `json:"request"`
	}
	var response struct {
		Response struct {
			Patch string `json:"patch"`
		} `json:"response"`
	}
	read(os.Args[1], &review)
	read(os.Args[2], &response)
	patch, err := base64.StdEncoding.DecodeString(response.Response.Patch)
	if err != nil || len(patch) == 0 {
		fail("%s: no patch in the response (%v)", os.Args[2], err)
	}
	ops, err := jsonpatch.DecodePatch(patch)
	if err != nil {
		fail("%s: %v", os.Args[2], err)
	}
	// As the API server hands it over: compact JSON.
	object, err := json.Marshal(review.Request.Object)
	if err != nil {
		fail("%s: %v", os.Args[1], err)
	}
	if _, err := ops.Apply(object); err != nil {
		fail("the patch does not apply: %v", err)
	}
	result := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			ops, err := jsonpatch.DecodePatch(patch)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := ops.Apply(object); err != nil {
				b.Fatal(err)
			}
		}
	})
	out, _ := json.Marshal(map[string]any{
		"object_bytes": len(object),
		"patch_ops":    len(ops),
		"patch_bytes":  len(patch),
		"ns_per_apply": result.NsPerOp(),
		"allocs":       result.AllocsPerOp(),
		"applies":      result.N,
	})
	fmt.Println(string(out))
}

func read(path string, into any) {
	text, err := os.ReadFile(path)
	if err != nil {
		fail("%v", err)
	}
	if err := json.Unmarshal(text, into); err != nil {
		fail("%s: %v", path, err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "patch-apply: "+format+"\n", args...)
	os.Exit(1)
}
