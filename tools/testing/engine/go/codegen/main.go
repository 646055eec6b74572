// Command pulumi-language-go / pulumi-language-nodejs (one program, the language chosen at build time with
// -ldflags -X main.language=…) is a code-generation-only language host: it answers the CLI's GeneratePackage call
// the way Pulumi's own Go and Node.js hosts do, with the SDK generators of github.com/pulumi/pulumi/pkg/v3 at the
// CLI's version. Those hosts' modules (sdk/go/pulumi-language-go/v3, sdk/nodejs/cmd/pulumi-language-nodejs/v3) are
// not served by the module proxy; their generators are, inside pkg/v3. So `pulumi package gen-sdk` runs for real:
// the CLI loads and binds the schema (resolving other packages through their plugins), then calls this host over
// gRPC, which binds it again through the CLI's schema loader and writes the SDK. It runs no programs: every other
// call of the language protocol is unimplemented.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	gogen "github.com/pulumi/pulumi/pkg/v3/codegen/go"
	nodejsgen "github.com/pulumi/pulumi/pkg/v3/codegen/nodejs"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// language is set with -ldflags -X main.language=go|nodejs by tools/engine/build.py.
var language = "go"

// version is set with -ldflags -X main.version=… (the pkg/v3 version whose generators this host runs).
var version = "0.0.0"

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

func generate(pkg *schema.Package, req *pulumirpc.GeneratePackageRequest,
	loader schema.ReferenceLoader,
) (map[string][]byte, error) {
	switch language {
	case "go":
		return gogen.GeneratePackage("pulumi-language-go", pkg, req.GetLocalDependencies())
	case "nodejs":
		return nodejsgen.GeneratePackage("pulumi-language-nodejs", pkg, req.GetExtraFiles(),
			req.GetLocalDependencies(), req.GetLocal(), loader)
	default:
		return nil, fmt.Errorf("no SDK generator for language %q", language)
	}
}

func (h *host) GeneratePackage(
	_ context.Context, req *pulumirpc.GeneratePackageRequest,
) (*pulumirpc.GeneratePackageResponse, error) {
	loader, err := schema.NewLoaderClient(req.GetLoaderTarget())
	if err != nil {
		return nil, err
	}
	defer loader.Close()
	var spec schema.PackageSpec
	if err := json.Unmarshal([]byte(req.GetSchema()), &spec); err != nil {
		return nil, err
	}
	cached := schema.NewCachedLoader(loader)
	pkg, diags, err := schema.BindSpec(spec, cached, schema.ValidationOptions{AllowDanglingReferences: true})
	if err != nil {
		return nil, err
	}
	if diags.HasErrors() {
		return nil, diags
	}
	files, err := generate(pkg, req, cached)
	if err != nil {
		return nil, err
	}
	for name, data := range files {
		path := filepath.Join(req.GetDirectory(), name)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return nil, err
		}
	}
	return &pulumirpc.GeneratePackageResponse{}, nil
}

func main() {
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, &host{})
			return nil
		},
	})
	if err != nil {
		cmdutil.ExitError(err.Error())
	}
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		cmdutil.ExitError(err.Error())
	}
}
