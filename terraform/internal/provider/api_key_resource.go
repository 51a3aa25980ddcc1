package provider

import (
	"context"
	"net/http"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/mapplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/omnibus/terraform-provider-omnibus/internal/client"
)

type apiKeyResource struct {
	api *client.Client
}

type apiKeyModel struct {
	ID        types.String `tfsdk:"id"`
	Name      types.String `tfsdk:"name"`
	Role      types.String `tfsdk:"role"`
	ExpiresAt types.String `tfsdk:"expires_at"`
	Prefix    types.String `tfsdk:"prefix"`
	Key       types.String `tfsdk:"key"`
	Keepers   types.Map    `tfsdk:"keepers"`
}

type apiKeyAnswer struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Role      string  `json:"role"`
	ExpiresAt *string `json:"expires_at"`
	Prefix    string  `json:"prefix"`
}

func newAPIKeyResource() resource.Resource { return &apiKeyResource{} }

func (r *apiKeyResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_api_key"
}

func (r *apiKeyResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	keep := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	resp.Schema = schema.Schema{
		Description: "An API key of the organization, for machines. A key never changes: any change issues a new " +
			"one; with `lifecycle { create_before_destroy = true }` the new key exists before the old one is revoked.",
		Attributes: map[string]schema.Attribute{
			"id":         schema.StringAttribute{Computed: true, PlanModifiers: keep},
			"name":       schema.StringAttribute{Required: true, PlanModifiers: replace},
			"role":       schema.StringAttribute{Required: true, PlanModifiers: replace, Description: "owner, admin, developer, viewer or billing; at most the provider's own key's role."},
			"expires_at": schema.StringAttribute{Optional: true, PlanModifiers: replace, Description: "RFC 3339; never when not set."},
			"prefix":     schema.StringAttribute{Computed: true, PlanModifiers: keep, Description: "The key's first characters, to recognise it."},
			"key":        schema.StringAttribute{Computed: true, Sensitive: true, PlanModifiers: keep, Description: "Shown by the API only at creation; null for an imported key."},
			"keepers": schema.MapAttribute{
				Optional: true, ElementType: types.StringType,
				PlanModifiers: []planmodifier.Map{mapplanmodifier.RequiresReplace()},
				Description:   "Arbitrary values; changing one issues a new key (rotation).",
			},
		},
	}
}

func (r *apiKeyResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	if api, ok := req.ProviderData.(*client.Client); ok {
		r.api = api
	}
}

// apiKeyState is a key's state as the API answers it, with the key itself
// (shown once) and the configuration's keepers, which the API does not hold.
func apiKeyState(answer *apiKeyAnswer, key types.String, keepers types.Map) apiKeyModel {
	expires := types.StringNull()
	if answer.ExpiresAt != nil {
		expires = types.StringValue(*answer.ExpiresAt)
	}
	if key.IsUnknown() || key.ValueString() == "" {
		key = types.StringNull()
	}
	return apiKeyModel{
		ID:        types.StringValue(answer.ID),
		Name:      types.StringValue(answer.Name),
		Role:      types.StringValue(answer.Role),
		ExpiresAt: expires,
		Prefix:    types.StringValue(answer.Prefix),
		Key:       key,
		Keepers:   keepers,
	}
}

func (r *apiKeyResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan apiKeyModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	body := map[string]any{"name": plan.Name.ValueString(), "role": plan.Role.ValueString()}
	set(body, "expires_at", plan.ExpiresAt)
	var created struct {
		apiKeyAnswer
		Key string `json:"key"`
	}
	if err := r.api.Do(ctx, http.MethodPost, "/v1/api-keys", body, &created); err != nil {
		addProblem(&resp.Diagnostics, "Cannot create omnibus_api_key "+plan.Name.ValueString(), err)
		return
	}
	state := apiKeyState(&created.apiKeyAnswer, types.StringValue(created.Key), plan.Keepers)
	// The API answers the expiry in its own spelling; keep the configured one when they are the same instant.
	state.ExpiresAt = plan.ExpiresAt
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

func (r *apiKeyResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state apiKeyModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var answer apiKeyAnswer
	err := r.api.Do(ctx, http.MethodGet, "/v1/api-keys/"+state.ID.ValueString(), nil, &answer)
	if client.IsNotFound(err) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot read omnibus_api_key "+state.ID.ValueString(), err.Error())
		return
	}
	next := apiKeyState(&answer, state.Key, state.Keepers)
	if !state.ExpiresAt.IsNull() && answer.ExpiresAt != nil && sameInstant(state.ExpiresAt.ValueString(), *answer.ExpiresAt) {
		next.ExpiresAt = state.ExpiresAt
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, next)...)
}

// Update is never called: every attribute replaces the key.
func (r *apiKeyResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	resp.Diagnostics.AddError("omnibus_api_key cannot change in place", "every change issues a new key")
}

func (r *apiKeyResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state apiKeyModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	err := r.api.Do(ctx, http.MethodDelete, "/v1/api-keys/"+state.ID.ValueString(), nil, nil)
	if err != nil && !client.IsNotFound(err) {
		resp.Diagnostics.AddError("Cannot revoke omnibus_api_key "+state.Name.ValueString(), err.Error())
	}
}

func (r *apiKeyResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resource.ImportStatePassthroughID(ctx, path.Root("id"), req, resp)
}
