package provider

import (
	"context"
	"net/http"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/omnibus/terraform-provider-omnibus/internal/client"
)

// instanceSummaryType is one instance as the list data source shows it.
var instanceSummaryType = types.ObjectType{AttrTypes: map[string]attr.Type{
	"id": types.StringType, "name": types.StringType, "plan": types.StringType,
	"region": types.StringType, "status": types.StringType,
}}

type instancesDataSource struct{ api *client.Client }

func newInstancesDataSource() datasource.DataSource { return &instancesDataSource{} }

func (d *instancesDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_instances"
}

func (d *instancesDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "Every instance of the organization.",
		Attributes: map[string]schema.Attribute{
			"instances": schema.ListAttribute{Computed: true, ElementType: instanceSummaryType, Description: "id, name, plan, region and status of each."},
		},
	}
}

func (d *instancesDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, _ *datasource.ConfigureResponse) {
	if api, ok := req.ProviderData.(*client.Client); ok {
		d.api = api
	}
}

func (d *instancesDataSource) Read(ctx context.Context, _ datasource.ReadRequest, resp *datasource.ReadResponse) {
	instances, err := client.All[client.Instance](ctx, d.api, "/v1/instances")
	if err != nil {
		resp.Diagnostics.AddError("Cannot list instances", err.Error())
		return
	}
	items := make([]attr.Value, 0, len(instances))
	for _, i := range instances {
		items = append(items, types.ObjectValueMust(instanceSummaryType.AttrTypes, map[string]attr.Value{
			"id": types.StringValue(i.ID), "name": types.StringValue(i.Name), "plan": types.StringValue(i.Plan),
			"region": types.StringValue(i.Region), "status": types.StringValue(i.Status),
		}))
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, struct {
		Instances types.List `tfsdk:"instances"`
	}{types.ListValueMust(instanceSummaryType, items)})...)
}

type instanceDataSource struct{ api *client.Client }

func newInstanceDataSource() datasource.DataSource { return &instanceDataSource{} }

func (d *instanceDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_instance"
}

func (d *instanceDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "One instance of the organization, by id.",
		Attributes: map[string]schema.Attribute{
			"id":         schema.StringAttribute{Required: true},
			"name":       schema.StringAttribute{Computed: true},
			"plan":       schema.StringAttribute{Computed: true},
			"region":     schema.StringAttribute{Computed: true},
			"status":     schema.StringAttribute{Computed: true},
			"endpoints":  schema.MapAttribute{Computed: true, ElementType: types.StringType},
			"created_at": schema.StringAttribute{Computed: true},
		},
	}
}

func (d *instanceDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, _ *datasource.ConfigureResponse) {
	if api, ok := req.ProviderData.(*client.Client); ok {
		d.api = api
	}
}

func (d *instanceDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var config instanceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var instance client.Instance
	if err := d.api.Do(ctx, http.MethodGet, "/v1/instances/"+config.ID.ValueString(), nil, &instance); err != nil {
		resp.Diagnostics.AddError("Cannot read instance "+config.ID.ValueString(), err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, instanceState(&instance))...)
}

type regionsDataSource struct{ api *client.Client }

func newRegionsDataSource() datasource.DataSource { return &regionsDataSource{} }

func (d *regionsDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_regions"
}

func (d *regionsDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "The regions instances can run in.",
		Attributes: map[string]schema.Attribute{
			"names":   schema.ListAttribute{Computed: true, ElementType: types.StringType},
			"default": schema.StringAttribute{Computed: true, Description: "Where instances without a region go."},
		},
	}
}

func (d *regionsDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, _ *datasource.ConfigureResponse) {
	if api, ok := req.ProviderData.(*client.Client); ok {
		d.api = api
	}
}

func (d *regionsDataSource) Read(ctx context.Context, _ datasource.ReadRequest, resp *datasource.ReadResponse) {
	regions, err := client.All[struct {
		Name    string `json:"name"`
		Default bool   `json:"default"`
	}](ctx, d.api, "/v1/regions")
	if err != nil {
		resp.Diagnostics.AddError("Cannot list regions", err.Error())
		return
	}
	names := make([]attr.Value, 0, len(regions))
	fallback := types.StringNull()
	for _, r := range regions {
		names = append(names, types.StringValue(r.Name))
		if r.Default {
			fallback = types.StringValue(r.Name)
		}
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, struct {
		Names   types.List   `tfsdk:"names"`
		Default types.String `tfsdk:"default"`
	}{types.ListValueMust(types.StringType, names), fallback})...)
}
