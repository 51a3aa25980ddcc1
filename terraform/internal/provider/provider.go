// Package provider is the Omnibus Terraform provider: its configuration and
// the resources and data sources it serves, each in a file of its own. Talks
// to the management API only (internal/client).
package provider

import (
	"context"
	"os"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/omnibus/terraform-provider-omnibus/internal/client"
)

const (
	endpointEnv = "OMNIBUS_ENDPOINT"
	apiKeyEnv   = "OMNIBUS_API_KEY"
)

type omnibusProvider struct {
	version string
}

type providerModel struct {
	Endpoint types.String `tfsdk:"endpoint"`
	APIKey   types.String `tfsdk:"api_key"`
}

// New returns the provider's constructor, as providerserver wants it.
func New(version string) func() provider.Provider {
	return func() provider.Provider { return &omnibusProvider{version: version} }
}

func (p *omnibusProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "omnibus"
	resp.Version = p.version
}

func (p *omnibusProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "Provisions Omnibus instances, credentials and more through the management REST API.",
		Attributes: map[string]schema.Attribute{
			"endpoint": schema.StringAttribute{
				Description: "The management API, e.g. `https://api.omnibus.example`. Default: `" + endpointEnv + "`.",
				Optional:    true,
			},
			"api_key": schema.StringAttribute{
				Description: "An API key (`omk_…`) of the organization to manage. Default: `" + apiKeyEnv + "`.",
				Optional:    true,
				Sensitive:   true,
			},
		},
	}
}

func (p *omnibusProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var config providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	endpoint := valueOr(config.Endpoint, os.Getenv(endpointEnv))
	apiKey := valueOr(config.APIKey, os.Getenv(apiKeyEnv))
	if endpoint == "" {
		resp.Diagnostics.AddAttributeError(path.Root("endpoint"), "Missing Omnibus endpoint",
			"Set endpoint in the provider block or "+endpointEnv+" in the environment.")
	}
	if apiKey == "" {
		resp.Diagnostics.AddAttributeError(path.Root("api_key"), "Missing Omnibus API key",
			"Set api_key in the provider block or "+apiKeyEnv+" in the environment.")
	}
	if resp.Diagnostics.HasError() {
		return
	}
	api := client.New(endpoint, apiKey)
	resp.ResourceData = api
	resp.DataSourceData = api
}

func (p *omnibusProvider) Resources(_ context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		newInstanceResource, newCredentialResource, newTopicResource, newMappingResource, newAPIKeyResource,
		newInvitationResource,
	}
}

func (p *omnibusProvider) DataSources(_ context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		newPlansDataSource, newRegionsDataSource, newInstanceDataSource, newInstancesDataSource,
	}
}

// valueOr is the configured value, or fallback when it is null or unknown.
func valueOr(value types.String, fallback string) string {
	if value.IsNull() || value.IsUnknown() {
		return fallback
	}
	return value.ValueString()
}
