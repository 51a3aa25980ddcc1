package provider

import (
	"context"
	"net/http"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/omnibus/terraform-provider-omnibus/internal/client"
)

type invitationResource struct {
	api *client.Client
}

type invitationModel struct {
	ID             types.String `tfsdk:"id"`
	OrganizationID types.String `tfsdk:"organization_id"`
	Email          types.String `tfsdk:"email"`
	Role           types.String `tfsdk:"role"`
	ExpiresAt      types.String `tfsdk:"expires_at"`
}

type apiInvitation struct {
	ID             string `json:"id"`
	OrganizationID string `json:"organization_id"`
	Email          string `json:"email"`
	Role           string `json:"role"`
	ExpiresAt      string `json:"expires_at"`
}

func newInvitationResource() resource.Resource { return &invitationResource{} }

func (r *invitationResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_member_invitation"
}

func (r *invitationResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	keep := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	resp.Schema = schema.Schema{
		Description: "An invitation to join the provider's organization, mailed to `email`. Once accepted (or " +
			"expired) it is gone, and so is this resource from the state; the member stays.",
		Attributes: map[string]schema.Attribute{
			"id":              schema.StringAttribute{Computed: true, PlanModifiers: keep},
			"organization_id": schema.StringAttribute{Computed: true, PlanModifiers: keep, Description: "The provider's API key's organization."},
			"email":           schema.StringAttribute{Required: true, PlanModifiers: replace},
			"role":            schema.StringAttribute{Required: true, PlanModifiers: replace, Description: "owner, admin, developer, viewer or billing; at most the provider's key's role."},
			"expires_at":      schema.StringAttribute{Computed: true, PlanModifiers: keep},
		},
	}
}

func (r *invitationResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	if api, ok := req.ProviderData.(*client.Client); ok {
		r.api = api
	}
}

// organization is the API key's own organization.
func (r *invitationResource) organization(ctx context.Context) (string, error) {
	memberships, err := client.All[struct {
		Organization struct {
			ID string `json:"id"`
		} `json:"organization"`
	}](ctx, r.api, "/v1/organizations")
	if err != nil {
		return "", err
	}
	if len(memberships) != 1 {
		return "", &client.Problem{Status: http.StatusConflict, Title: "the provider's credential must act in exactly one organization (use an API key)"}
	}
	return memberships[0].Organization.ID, nil
}

func invitationState(i *apiInvitation) invitationModel {
	return invitationModel{
		ID:             types.StringValue(i.ID),
		OrganizationID: types.StringValue(i.OrganizationID),
		Email:          types.StringValue(i.Email),
		Role:           types.StringValue(i.Role),
		ExpiresAt:      types.StringValue(i.ExpiresAt),
	}
}

func (r *invitationResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan invitationModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	org, err := r.organization(ctx)
	if err != nil {
		resp.Diagnostics.AddError("Cannot find the API key's organization", err.Error())
		return
	}
	body := map[string]any{"email": plan.Email.ValueString(), "role": plan.Role.ValueString()}
	var created apiInvitation
	if err := r.api.Do(ctx, http.MethodPost, "/v1/organizations/"+org+"/invitations", body, &created); err != nil {
		addProblem(&resp.Diagnostics, "Cannot invite "+plan.Email.ValueString(), err)
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, invitationState(&created))...)
}

func (r *invitationResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state invitationModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var invitation apiInvitation
	path := "/v1/organizations/" + state.OrganizationID.ValueString() + "/invitations/" + state.ID.ValueString()
	err := r.api.Do(ctx, http.MethodGet, path, nil, &invitation)
	if client.IsNotFound(err) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot read omnibus_member_invitation "+state.ID.ValueString(), err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, invitationState(&invitation))...)
}

// Update is never called: every attribute replaces the invitation.
func (r *invitationResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	resp.Diagnostics.AddError("omnibus_member_invitation cannot change in place", "a change sends a new invitation")
}

func (r *invitationResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state invitationModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	path := "/v1/organizations/" + state.OrganizationID.ValueString() + "/invitations/" + state.ID.ValueString()
	if err := r.api.Do(ctx, http.MethodDelete, path, nil, nil); err != nil && !client.IsNotFound(err) {
		resp.Diagnostics.AddError("Cannot revoke omnibus_member_invitation "+state.ID.ValueString(), err.Error())
	}
}

// ImportState takes `ORGANIZATION_ID/INVITATION_ID`.
func (r *invitationResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	org, id, ok := cutPair(req.ID)
	if !ok {
		resp.Diagnostics.AddError("Invalid import id", "expected ORGANIZATION_ID/INVITATION_ID, got "+req.ID)
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("organization_id"), org)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), id)...)
}
