package main

import (
	"context"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func inputs(t *testing.T, m map[string]any) resource.PropertyMap {
	t.Helper()
	props := resource.NewPropertyMapFromMap(m)
	for key, value := range inputDefaults {
		if _, ok := props[resource.PropertyKey(key)]; !ok {
			props[resource.PropertyKey(key)] = resource.NewPropertyValue(value)
		}
	}
	return props
}

func TestAlphanumericPasswordHasTheLengthAndNoSpecialCharacters(t *testing.T) {
	for i := 0; i < 50; i++ {
		password, err := generate(inputs(t, map[string]any{"length": 40.0, "special": false}))
		if err != nil {
			t.Fatal(err)
		}
		if len(password) != 40 || strings.ContainsAny(password, defaultSpecial) {
			t.Fatalf("bad password %q", password)
		}
	}
}

func TestMinimumsAreHonouredAndPasswordsDiffer(t *testing.T) {
	a, _ := generate(inputs(t, map[string]any{"length": 12.0, "minNumeric": 4.0, "minUpper": 4.0}))
	b, _ := generate(inputs(t, map[string]any{"length": 12.0, "minNumeric": 4.0, "minUpper": 4.0}))
	digits := strings.IndexFunc(a, func(r rune) bool { return r >= '0' && r <= '9' })
	if a == b || digits < 0 || len(a) != 12 {
		t.Fatalf("passwords %q %q", a, b)
	}
	count := 0
	for _, r := range a {
		if r >= '0' && r <= '9' {
			count++
		}
	}
	if count < 4 {
		t.Fatalf("%q has fewer than 4 digits", a)
	}
}

func TestAnyInputChangeReplaces(t *testing.T) {
	old, _ := plugin.MarshalProperties(inputs(t, map[string]any{"length": 40.0}), marshal)
	same, _ := plugin.MarshalProperties(inputs(t, map[string]any{"length": 40.0}), marshal)
	longer, _ := plugin.MarshalProperties(inputs(t, map[string]any{"length": 48.0}), marshal)
	s := &server{}
	none, err := s.Diff(context.Background(), &pulumirpc.DiffRequest{OldInputs: old, News: same})
	if err != nil || none.GetChanges() != pulumirpc.DiffResponse_DIFF_NONE {
		t.Fatalf("unchanged inputs: %v %v", none, err)
	}
	replace, err := s.Diff(context.Background(), &pulumirpc.DiffRequest{OldInputs: old, News: longer})
	if err != nil || len(replace.GetReplaces()) != 1 || replace.GetReplaces()[0] != "length" {
		t.Fatalf("changed length: %v %v", replace, err)
	}
}

func TestResultIsSecretAndPreviewUnknown(t *testing.T) {
	props, _ := plugin.MarshalProperties(inputs(t, map[string]any{"length": 16.0}), marshal)
	s := &server{}
	urn := "urn:pulumi:s::p::" + passwordToken + "::pw"
	created, err := s.Create(context.Background(), &pulumirpc.CreateRequest{Urn: urn, Properties: props})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := plugin.UnmarshalProperties(created.GetProperties(), marshal)
	if !out["result"].IsSecret() || !out["bcryptHash"].IsSecret() {
		t.Fatalf("outputs not secret: %v", out)
	}
	preview, _ := s.Create(context.Background(), &pulumirpc.CreateRequest{Urn: urn, Properties: props, Preview: true})
	out, _ = plugin.UnmarshalProperties(preview.GetProperties(), marshal)
	if !out["result"].IsComputed() {
		t.Fatalf("preview result should be unknown: %v", out)
	}
}
