// Command pulumi-resource-aws is a schema-only stand-in for pulumi-aws's provider, whose modules
// (github.com/pulumi/pulumi-aws/provider/v7 and sdk/v7) the module proxy does not serve (403). The component
// package's schema refers to one aws type, the provider resource (the replicaProvider input of ArchiveBucket and
// Secrets), so `pulumi package get-schema`/`gen-sdk` need an aws plugin of the version the Python SDK requests
// and its schema to resolve that reference. This serves the aws package's name, version, per-language package
// names and the provider resource with its region input, and accepts provider configuration; it creates nothing:
// every resource call is unimplemented.
package main

import (
	"context"
	"encoding/json"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/emptypb"
)

// version is set with -ldflags -X main.version=… by tools/engine/build.py.
var version = "0.0.0"

// schema is the part of pulumi-aws's schema that a reference to its provider resource needs: the package's
// identity, where each language's SDK lives, and the provider resource.
func schema() ([]byte, error) {
	region := map[string]any{"type": "string", "description": "The AWS region to use."}
	return json.Marshal(map[string]any{
		"name":    "aws",
		"version": version,
		"provider": map[string]any{
			"description":     "The provider type for the aws package.",
			"inputProperties": map[string]any{"region": region},
			"properties":      map[string]any{"region": region},
		},
		"language": map[string]any{
			"go": map[string]any{
				"importBasePath":                 "github.com/pulumi/pulumi-aws/sdk/v7/go/aws",
				"generateResourceContainerTypes": true,
			},
			"nodejs": map[string]any{"packageName": "@pulumi/aws"},
			"python": map[string]any{"packageName": "pulumi_aws"},
			"csharp": map[string]any{"rootNamespace": "Pulumi", "packageReferences": map[string]any{}},
		},
	})
}

type server struct {
	pulumirpc.UnimplementedResourceProviderServer
}

func (s *server) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

func (s *server) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	bytes, err := schema()
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetSchemaResponse{Schema: string(bytes)}, nil
}

// CheckConfig, DiffConfig and Configure accept any configuration, so an engine that loads every plugin the
// program's SDKs name can start this one; it still creates nothing.
func (s *server) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (s *server) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{}, nil
}

func (s *server) Configure(context.Context, *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true}, nil
}

func (s *server) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func main() {
	err := provider.Main("aws", func(*provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return &server{}, nil
	})
	if err != nil {
		cmdutil.ExitError(err.Error())
	}
}
