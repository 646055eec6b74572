// Command pulumi-resource-random serves RandomPassword with pulumi-random's contract: inputs length, upper, lower,
// numeric, special, min*, overrideSpecial and keepers; outputs result and bcryptHash (the SDK marks both secret);
// any change of an input replaces the password. Passwords come from crypto/rand.
package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"sort"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"golang.org/x/crypto/bcrypt"
	"google.golang.org/protobuf/types/known/emptypb"
)

// version is set with -ldflags -X main.version=… by tools/engine/build.py.
var version = "0.0.0"

const passwordToken = "random:index/randomPassword:RandomPassword"

const defaultSpecial = "!@#$%&*()-_=+[]{}<>:?"

var marshal = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, SkipNulls: true}

// inputDefaults are pulumi-random's defaults for RandomPassword's inputs.
var inputDefaults = map[string]any{
	"upper": true, "lower": true, "numeric": true, "special": true,
	"minUpper": 0.0, "minLower": 0.0, "minNumeric": 0.0, "minSpecial": 0.0,
}

type server struct {
	pulumirpc.UnimplementedResourceProviderServer
}

func (s *server) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

func (s *server) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	return &pulumirpc.GetSchemaResponse{Schema: fmt.Sprintf(`{"name":"random","version":%q}`, version)}, nil
}

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

func checkType(token string) error {
	if token != passwordToken {
		return fmt.Errorf("this random provider serves only %s, not %s", passwordToken, token)
	}
	return nil
}

func (s *server) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	if err := checkType(resource.URN(req.GetUrn()).Type().String()); err != nil {
		return nil, err
	}
	news, err := plugin.UnmarshalProperties(req.GetNews(), marshal)
	if err != nil {
		return nil, err
	}
	for key, value := range inputDefaults {
		if _, ok := news[resource.PropertyKey(key)]; !ok {
			news[resource.PropertyKey(key)] = resource.NewPropertyValue(value)
		}
	}
	var failures []*pulumirpc.CheckFailure
	if length, ok := news["length"]; !ok || !length.IsNumber() || length.NumberValue() < 1 {
		failures = append(failures, &pulumirpc.CheckFailure{Property: "length", Reason: "length must be a number of at least 1"})
	}
	inputs, err := plugin.MarshalProperties(news, marshal)
	return &pulumirpc.CheckResponse{Inputs: inputs, Failures: failures}, err
}

// Diff replaces the password when any input changed, as every attribute of the Terraform resource is ForceNew.
func (s *server) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds, err := plugin.UnmarshalProperties(req.GetOldInputs(), marshal)
	if err != nil {
		return nil, err
	}
	news, err := plugin.UnmarshalProperties(req.GetNews(), marshal)
	if err != nil {
		return nil, err
	}
	var replaces []string
	for key := range keys(olds, news) {
		if !olds[key].DeepEquals(news[key]) {
			replaces = append(replaces, string(key))
		}
	}
	sort.Strings(replaces)
	changes := pulumirpc.DiffResponse_DIFF_NONE
	if len(replaces) > 0 {
		changes = pulumirpc.DiffResponse_DIFF_SOME
	}
	return &pulumirpc.DiffResponse{Changes: changes, Replaces: replaces, Diffs: replaces}, nil
}

func keys(maps ...resource.PropertyMap) map[resource.PropertyKey]bool {
	out := map[resource.PropertyKey]bool{}
	for _, m := range maps {
		for k := range m {
			out[k] = true
		}
	}
	return out
}

func (s *server) Create(_ context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	if err := checkType(resource.URN(req.GetUrn()).Type().String()); err != nil {
		return nil, err
	}
	inputs, err := plugin.UnmarshalProperties(req.GetProperties(), marshal)
	if err != nil {
		return nil, err
	}
	outputs := inputs.Copy()
	id := "none"
	if req.GetPreview() {
		outputs["result"] = resource.MakeComputed(resource.NewStringProperty(""))
		outputs["bcryptHash"] = resource.MakeComputed(resource.NewStringProperty(""))
		id = ""
	} else {
		password, err := generate(inputs)
		if err != nil {
			return nil, err
		}
		hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
		if err != nil {
			return nil, err
		}
		outputs["result"] = resource.MakeSecret(resource.NewStringProperty(password))
		outputs["bcryptHash"] = resource.MakeSecret(resource.NewStringProperty(string(hash)))
	}
	props, err := plugin.MarshalProperties(outputs, marshal)
	return &pulumirpc.CreateResponse{Id: id, Properties: props}, err
}

// Read returns the state as stored: a password exists only in Pulumi's state.
func (s *server) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: req.GetInputs()}, nil
}

func (s *server) Delete(context.Context, *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func number(m resource.PropertyMap, key string) int {
	if v, ok := m[resource.PropertyKey(key)]; ok && v.IsNumber() {
		return int(v.NumberValue())
	}
	return 0
}

func flag(m resource.PropertyMap, key string) bool {
	v, ok := m[resource.PropertyKey(key)]
	return ok && v.IsBool() && v.BoolValue()
}

// generate draws each class's minimum first, fills the rest from every enabled class, then shuffles.
func generate(in resource.PropertyMap) (string, error) {
	special := defaultSpecial
	if v, ok := in["overrideSpecial"]; ok && v.IsString() && v.StringValue() != "" {
		special = v.StringValue()
	}
	classes := []struct {
		enabled bool
		chars   string
		min     int
	}{
		{flag(in, "upper"), "ABCDEFGHIJKLMNOPQRSTUVWXYZ", number(in, "minUpper")},
		{flag(in, "lower"), "abcdefghijklmnopqrstuvwxyz", number(in, "minLower")},
		{flag(in, "numeric"), "0123456789", number(in, "minNumeric")},
		{flag(in, "special"), special, number(in, "minSpecial")},
	}
	length := number(in, "length")
	var out []byte
	all := ""
	for _, c := range classes {
		if !c.enabled {
			continue
		}
		all += c.chars
		for i := 0; i < c.min; i++ {
			b, err := pick(c.chars)
			if err != nil {
				return "", err
			}
			out = append(out, b)
		}
	}
	if all == "" {
		return "", fmt.Errorf("at least one of upper, lower, numeric and special must be enabled")
	}
	for len(out) < length {
		b, err := pick(all)
		if err != nil {
			return "", err
		}
		out = append(out, b)
	}
	for i := len(out) - 1; i > 0; i-- {
		j, err := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		if err != nil {
			return "", err
		}
		out[i], out[j.Int64()] = out[j.Int64()], out[i]
	}
	return string(out), nil
}

func pick(chars string) (byte, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(int64(len(chars))))
	if err != nil {
		return 0, err
	}
	return chars[n.Int64()], nil
}

func main() {
	err := provider.Main("random", func(*provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return &server{}, nil
	})
	if err != nil {
		cmdutil.ExitError(err.Error())
	}
}
