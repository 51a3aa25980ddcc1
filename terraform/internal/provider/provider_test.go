package provider

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tfprotov5"

	"github.com/omnibus/terraform-provider-omnibus/internal/client"
)

// The provider's schemas pass the framework's own validation when served
// over protocol 5, and name what the provider offers.
func TestSchemasAreServedAndValid(t *testing.T) {
	server, err := providerserver.NewProtocol5WithError(New("test")())()
	if err != nil {
		t.Fatal(err)
	}
	schemas, err := server.GetProviderSchema(context.Background(), &tfprotov5.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range schemas.Diagnostics {
		if d.Severity == tfprotov5.DiagnosticSeverityError {
			t.Fatalf("schema error: %s: %s", d.Summary, d.Detail)
		}
	}
	for _, name := range []string{"omnibus_instance", "omnibus_credential", "omnibus_topic", "omnibus_mapping", "omnibus_api_key"} {
		if schemas.ResourceSchemas[name] == nil {
			t.Errorf("no resource %s", name)
		}
	}
	for _, name := range []string{"omnibus_plans", "omnibus_regions", "omnibus_instance", "omnibus_instances"} {
		if schemas.DataSourceSchemas[name] == nil {
			t.Errorf("no data source %s", name)
		}
	}
	if key := attribute(schemas.ResourceSchemas["omnibus_api_key"], "key"); key == nil || !key.Sensitive {
		t.Errorf("an API key must be sensitive: %+v", key)
	}
	password := attribute(schemas.ResourceSchemas["omnibus_credential"], "password")
	if password == nil || !password.Sensitive || !password.Computed {
		t.Errorf("the password must be computed and sensitive: %+v", password)
	}
	if key := attribute(schemas.Provider, "api_key"); key == nil || !key.Sensitive {
		t.Errorf("the API key must be sensitive: %+v", key)
	}
}

func attribute(schema *tfprotov5.Schema, name string) *tfprotov5.SchemaAttribute {
	if schema == nil {
		return nil
	}
	for _, a := range schema.Block.Attributes {
		if a.Name == name {
			return a
		}
	}
	return nil
}

// A credential read back from the API round-trips through its state: the
// ACL as configured, the password kept (the API shows it only once).
func TestCredentialStateKeepsTheACLAndThePassword(t *testing.T) {
	ctx := context.Background()
	api := client.Credential{
		ID: "c1", InstanceID: "i1", Name: "gateway", Username: "sensors-x",
		ACL: []client.AclRule{{Topic: "sensors/#", Actions: []string{"subscribe", "publish"}}},
	}
	created, diags := credentialState(&api, typesString("secret"), types.MapNull(types.StringType))
	if diags.HasError() {
		t.Fatal(diags)
	}
	if created.Password.ValueString() != "secret" {
		t.Errorf("password %q", created.Password.ValueString())
	}
	rules, diags := aclRules(ctx, created.ACL)
	if diags.HasError() {
		t.Fatal(diags)
	}
	if len(rules) != 1 || rules[0].Topic != "sensors/#" || len(rules[0].Actions) != 2 {
		t.Errorf("rules %+v", rules)
	}
	imported, _ := credentialState(&api, typesString(""), types.MapNull(types.StringType))
	if !imported.Password.IsNull() {
		t.Error("an imported credential's password must be null, not empty")
	}
}
