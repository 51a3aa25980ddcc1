package provider

import (
	"context"
	"net/http"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/mapplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/omnibus/terraform-provider-omnibus/internal/client"
)

type credentialResource struct {
	api *client.Client
}

type credentialModel struct {
	ID         types.String `tfsdk:"id"`
	InstanceID types.String `tfsdk:"instance_id"`
	Name       types.String `tfsdk:"name"`
	ACL        types.List   `tfsdk:"acl"`
	Username   types.String `tfsdk:"username"`
	Password   types.String `tfsdk:"password"`
	Keepers    types.Map    `tfsdk:"keepers"`
}

// aclRuleType is one ACL rule: a topic filter and the actions it allows.
var aclRuleType = types.ObjectType{AttrTypes: map[string]attr.Type{
	"topic":   types.StringType,
	"actions": types.SetType{ElemType: types.StringType},
}}

func newCredentialResource() resource.Resource { return &credentialResource{} }

func (r *credentialResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_credential"
}

func (r *credentialResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	keep := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	resp.Schema = schema.Schema{
		Description: "A user name and generated password that MQTT and Kafka clients of an instance connect with, and what it may do.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, PlanModifiers: keep},
			"instance_id": schema.StringAttribute{
				Required:      true,
				Description:   "The instance; changing it replaces the credential.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"name": schema.StringAttribute{
				Optional:      true,
				Computed:      true,
				PlanModifiers: keep,
				Description:   "A label; changed in place.",
			},
			"acl": schema.ListAttribute{
				Optional:      true,
				Computed:      true,
				ElementType:   aclRuleType,
				PlanModifiers: []planmodifier.List{listplanmodifier.UseStateForUnknown()},
				Description: "Rules `{ topic = \"sensors/#\", actions = [\"publish\", \"subscribe\"] }` (actions: publish, " +
					"subscribe, produce, consume, group); everything on every topic when not set. Changed in place; " +
					"the credential's connections reconnect under the new rules.",
			},
			"keepers": schema.MapAttribute{
				Optional:      true,
				ElementType:   types.StringType,
				PlanModifiers: []planmodifier.Map{mapplanmodifier.RequiresReplace()},
				Description: "Arbitrary values; changing one issues a new credential (user name and password). With " +
					"`lifecycle { create_before_destroy = true }` the new one exists before the old one is deleted, " +
					"so clients can switch without downtime.",
			},
			"username": schema.StringAttribute{Computed: true, PlanModifiers: keep},
			"password": schema.StringAttribute{
				Computed:      true,
				Sensitive:     true,
				PlanModifiers: keep,
				Description:   "Shown by the API only at creation, so kept in the state; null for an imported credential.",
			},
		},
	}
}

func (r *credentialResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	if api, ok := req.ProviderData.(*client.Client); ok {
		r.api = api
	}
}

func credentialPath(instanceID, id string) string {
	return "/v1/instances/" + instanceID + "/credentials" + strings.TrimRight("/"+id, "/")
}

func (r *credentialResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan credentialModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	body := map[string]any{}
	if !plan.Name.IsNull() && !plan.Name.IsUnknown() {
		body["name"] = plan.Name.ValueString()
	}
	if !plan.ACL.IsNull() && !plan.ACL.IsUnknown() {
		rules, diags := aclRules(ctx, plan.ACL)
		resp.Diagnostics.Append(diags...)
		body["acl"] = rules
	}
	if resp.Diagnostics.HasError() {
		return
	}
	var created client.Credential
	if err := r.api.Do(ctx, http.MethodPost, credentialPath(plan.InstanceID.ValueString(), ""), body, &created); err != nil {
		addProblem(&resp.Diagnostics, "Cannot create omnibus_credential", err)
		return
	}
	state, diags := credentialState(&created, types.StringValue(created.Password), plan.Keepers)
	resp.Diagnostics.Append(diags...)
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

func (r *credentialResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state credentialModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var credential client.Credential
	err := r.api.Do(ctx, http.MethodGet, credentialPath(state.InstanceID.ValueString(), state.ID.ValueString()), nil, &credential)
	if client.IsNotFound(err) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot read omnibus_credential "+state.ID.ValueString(), err.Error())
		return
	}
	next, diags := credentialState(&credential, state.Password, state.Keepers)
	resp.Diagnostics.Append(diags...)
	resp.Diagnostics.Append(resp.State.Set(ctx, next)...)
}

func (r *credentialResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state credentialModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	body := map[string]any{}
	if !plan.Name.IsUnknown() && !plan.Name.Equal(state.Name) {
		body["name"] = plan.Name.ValueString()
	}
	if !plan.ACL.IsUnknown() && !plan.ACL.Equal(state.ACL) {
		rules, diags := aclRules(ctx, plan.ACL)
		resp.Diagnostics.Append(diags...)
		body["acl"] = rules
	}
	if resp.Diagnostics.HasError() {
		return
	}
	var changed client.Credential
	path := credentialPath(state.InstanceID.ValueString(), state.ID.ValueString())
	if err := r.api.Do(ctx, http.MethodPatch, path, body, &changed); err != nil {
		addProblem(&resp.Diagnostics, "Cannot change omnibus_credential "+state.ID.ValueString(), err)
		return
	}
	next, diags := credentialState(&changed, state.Password, plan.Keepers)
	resp.Diagnostics.Append(diags...)
	resp.Diagnostics.Append(resp.State.Set(ctx, next)...)
}

func (r *credentialResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state credentialModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	err := r.api.Do(ctx, http.MethodDelete, credentialPath(state.InstanceID.ValueString(), state.ID.ValueString()), nil, nil)
	if err != nil && !client.IsNotFound(err) {
		resp.Diagnostics.AddError("Cannot delete omnibus_credential "+state.ID.ValueString(), err.Error())
	}
}

// ImportState takes `INSTANCE_ID/CREDENTIAL_ID`; the password stays null (the API never shows it again).
func (r *credentialResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	instanceID, id, ok := cutPair(req.ID)
	if !ok {
		resp.Diagnostics.AddError("Invalid import id", "expected INSTANCE_ID/CREDENTIAL_ID, got "+req.ID)
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("instance_id"), instanceID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), id)...)
}

// aclRules is the configured ACL as the API takes it.
func aclRules(ctx context.Context, list types.List) ([]client.AclRule, diag.Diagnostics) {
	var rules []struct {
		Topic   types.String `tfsdk:"topic"`
		Actions types.Set    `tfsdk:"actions"`
	}
	diags := list.ElementsAs(ctx, &rules, false)
	out := make([]client.AclRule, 0, len(rules))
	for _, rule := range rules {
		var actions []string
		diags.Append(rule.Actions.ElementsAs(ctx, &actions, false)...)
		out = append(out, client.AclRule{Topic: rule.Topic.ValueString(), Actions: actions})
	}
	return out, diags
}

// credentialState is the Terraform state of a credential as the API answers
// it, with the password known so far (the API shows it once) and the
// configuration's keepers (which the API does not hold).
func credentialState(credential *client.Credential, password types.String, keepers types.Map) (credentialModel, diag.Diagnostics) {
	var diags diag.Diagnostics
	rules := make([]attr.Value, 0, len(credential.ACL))
	for _, rule := range credential.ACL {
		actions := make([]attr.Value, 0, len(rule.Actions))
		for _, action := range rule.Actions {
			actions = append(actions, types.StringValue(action))
		}
		set, d := types.SetValue(types.StringType, actions)
		diags.Append(d...)
		object, d := types.ObjectValue(aclRuleType.AttrTypes, map[string]attr.Value{
			"topic":   types.StringValue(rule.Topic),
			"actions": set,
		})
		diags.Append(d...)
		rules = append(rules, object)
	}
	acl, d := types.ListValue(aclRuleType, rules)
	diags.Append(d...)
	if password.IsUnknown() || password.ValueString() == "" {
		password = types.StringNull()
	}
	return credentialModel{
		ID:         types.StringValue(credential.ID),
		InstanceID: types.StringValue(credential.InstanceID),
		Name:       types.StringValue(credential.Name),
		ACL:        acl,
		Username:   types.StringValue(credential.Username),
		Password:   password,
		Keepers:    keepers,
	}, diags
}
