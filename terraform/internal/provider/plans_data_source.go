package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/omnibus/terraform-provider-omnibus/internal/client"
)

type plansDataSource struct {
	api *client.Client
}

type plansModel struct {
	Names  types.List `tfsdk:"names"`
	Prices types.Map  `tfsdk:"monthly_price_cents"`
}

func newPlansDataSource() datasource.DataSource { return &plansDataSource{} }

func (d *plansDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_plans"
}

func (d *plansDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "The plan catalogue: what an instance's `plan` may be.",
		Attributes: map[string]schema.Attribute{
			"names":               schema.ListAttribute{Computed: true, ElementType: types.StringType, Description: "Cheapest first."},
			"monthly_price_cents": schema.MapAttribute{Computed: true, ElementType: types.Int64Type, Description: "Plan name to its base price per month, in US cents."},
		},
	}
}

func (d *plansDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	if api, ok := req.ProviderData.(*client.Client); ok {
		d.api = api
	}
}

func (d *plansDataSource) Read(ctx context.Context, _ datasource.ReadRequest, resp *datasource.ReadResponse) {
	plans, err := client.All[client.Plan](ctx, d.api, "/v1/plans")
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the plan catalogue", err.Error())
		return
	}
	names := make([]attr.Value, 0, len(plans))
	prices := map[string]attr.Value{}
	for _, plan := range plans {
		names = append(names, types.StringValue(plan.Name))
		prices[plan.Name] = types.Int64Value(plan.Price.AmountCents)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, plansModel{
		Names:  types.ListValueMust(types.StringType, names),
		Prices: types.MapValueMust(types.Int64Type, prices),
	})...)
}
