// Command terraform-provider-omnibus is the Terraform provider of Omnibus:
// instances, credentials, topics, mappings, API keys and invitations through
// the management REST API only, never the brokers.
//
// It serves plugin protocol 6, and 5 beside it from the same binary:
// go-plugin's handshake picks the newest both sides speak, so Terraform 0.15
// and later (the end-to-end tests run 0.15 and 1.5.7) get 6 and older CLIs
// still get 5. providerserver.Serve offers one protocol only, hence
// go-plugin's VersionedPlugins here; the provider uses nothing protocol 5
// lacks (no nested attributes), and the acceptance tests drive it over 5.
package main

import (
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov5/tf5server"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"
	"google.golang.org/grpc"

	"github.com/omnibus/terraform-provider-omnibus/internal/provider"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = "dev"

const address = "registry.terraform.io/omnibus/omnibus"

// Terraform's plugin handshake cookie (the same for protocols 5 and 6).
const magicCookie = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2"

// The largest gRPC message either way, as terraform-plugin-go sets it.
const maxMessage = 256 << 20

func main() {
	newProvider := provider.New(version)
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: plugin.HandshakeConfig{
			ProtocolVersion:  6,
			MagicCookieKey:   "TF_PLUGIN_MAGIC_COOKIE",
			MagicCookieValue: magicCookie,
		},
		VersionedPlugins: map[int]plugin.PluginSet{
			5: {"provider": &tf5server.GRPCProviderPlugin{GRPCProvider: providerserver.NewProtocol5(newProvider()), Name: address}},
			6: {"provider": &tf6server.GRPCProviderPlugin{GRPCProvider: providerserver.NewProtocol6(newProvider()), Name: address}},
		},
		GRPCServer: func(options []grpc.ServerOption) *grpc.Server {
			return grpc.NewServer(append(options, grpc.MaxRecvMsgSize(maxMessage), grpc.MaxSendMsgSize(maxMessage))...)
		},
	})
}
