package provider

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/omnibus/terraform-provider-omnibus/internal/client"
)

type topicResource struct {
	api *client.Client
}

type topicModel struct {
	ID             types.String `tfsdk:"id"`
	InstanceID     types.String `tfsdk:"instance_id"`
	Name           types.String `tfsdk:"name"`
	Partitions     types.Int64  `tfsdk:"partitions"`
	RetentionMs    types.Int64  `tfsdk:"retention_ms"`
	RetentionBytes types.Int64  `tfsdk:"retention_bytes"`
	RemoteStorage  types.Bool   `tfsdk:"remote_storage_enable"`
	LocalMs        types.Int64  `tfsdk:"local_retention_ms"`
	LocalBytes     types.Int64  `tfsdk:"local_retention_bytes"`
}

type apiTopic struct {
	Name           string `json:"name"`
	Partitions     int64  `json:"partitions"`
	RetentionMs    int64  `json:"retention_ms"`
	RetentionBytes int64  `json:"retention_bytes"`
	RemoteStorage  bool   `json:"remote_storage_enable"`
	LocalMs        int64  `json:"local_retention_ms"`
	LocalBytes     int64  `json:"local_retention_bytes"`
}

func newTopicResource() resource.Resource { return &topicResource{} }

func (r *topicResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_topic"
}

// fewerPartitions replaces a topic asked to shrink: Kafka never removes partitions.
func fewerPartitions(_ context.Context, req planmodifier.Int64Request, resp *int64planmodifier.RequiresReplaceIfFuncResponse) {
	resp.RequiresReplace = !req.PlanValue.IsUnknown() && req.PlanValue.ValueInt64() < req.StateValue.ValueInt64()
}

func (r *topicResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	resp.Schema = schema.Schema{
		Description: "A Kafka topic of an instance (MQTT messages mapped to Kafka land in topics too).",
		Attributes: map[string]schema.Attribute{
			"id":          schema.StringAttribute{Computed: true, PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}, Description: "`INSTANCE_ID/NAME`."},
			"instance_id": schema.StringAttribute{Required: true, PlanModifiers: replace, Description: "The instance; changing it replaces the topic."},
			"name":        schema.StringAttribute{Required: true, PlanModifiers: replace, Description: "Kafka's rules: 1-249 letters, digits, '.', '_' and '-'. Changing it replaces the topic (and drops its data)."},
			"partitions": schema.Int64Attribute{
				Optional: true, Computed: true,
				Description: "1-1000, default 1. Growing is in place; fewer replaces the topic (Kafka never removes partitions).",
				PlanModifiers: []planmodifier.Int64{
					int64planmodifier.UseStateForUnknown(),
					int64planmodifier.RequiresReplaceIf(fewerPartitions, "fewer partitions replace the topic", "fewer partitions replace the topic"),
				},
			},
			"retention_ms": schema.Int64Attribute{
				Optional: true, Computed: true, PlanModifiers: []planmodifier.Int64{int64planmodifier.UseStateForUnknown()},
				Description: "How long records are kept, ms; -1 for ever. Default 604800000 (7 days).",
			},
			"retention_bytes": schema.Int64Attribute{
				Optional: true, Computed: true, PlanModifiers: []planmodifier.Int64{int64planmodifier.UseStateForUnknown()},
				Description: "Bytes each partition keeps at most; -1 (the default) no limit.",
			},
			"remote_storage_enable": schema.BoolAttribute{
				Optional: true, Computed: true, PlanModifiers: []planmodifier.Bool{boolplanmodifier.UseStateForUnknown()},
				Description: "Tiered storage (Kafka's `remote.storage.enable`): closed segments go to the object store and are read back transparently. Default false; once true, the API refuses false.",
			},
			"local_retention_ms": schema.Int64Attribute{
				Optional: true, Computed: true, PlanModifiers: []planmodifier.Int64{int64planmodifier.UseStateForUnknown()},
				Description: "With tiered storage, how long local copies are kept once copied, ms; -2 (the default) as `retention_ms`, -1 for ever.",
			},
			"local_retention_bytes": schema.Int64Attribute{
				Optional: true, Computed: true, PlanModifiers: []planmodifier.Int64{int64planmodifier.UseStateForUnknown()},
				Description: "With tiered storage, bytes of local copies each partition keeps; -2 (the default) as `retention_bytes`, -1 no limit.",
			},
		},
	}
}

func (r *topicResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	if api, ok := req.ProviderData.(*client.Client); ok {
		r.api = api
	}
}

func topicPath(instanceID, name string) string {
	return "/v1/instances/" + instanceID + "/topics" + strings.TrimRight("/"+url.PathEscape(name), "/")
}

func topicState(instanceID string, topic *apiTopic) topicModel {
	return topicModel{
		ID:             types.StringValue(instanceID + "/" + topic.Name),
		InstanceID:     types.StringValue(instanceID),
		Name:           types.StringValue(topic.Name),
		Partitions:     types.Int64Value(topic.Partitions),
		RetentionMs:    types.Int64Value(topic.RetentionMs),
		RetentionBytes: types.Int64Value(topic.RetentionBytes),
		RemoteStorage:  types.BoolValue(topic.RemoteStorage),
		LocalMs:        types.Int64Value(topic.LocalMs),
		LocalBytes:     types.Int64Value(topic.LocalBytes),
	}
}

// known adds value to body under key when it is set in the plan.
func known(body map[string]any, key string, value types.Int64) {
	if !value.IsNull() && !value.IsUnknown() {
		body[key] = value.ValueInt64()
	}
}

// knownBool is known for a boolean.
func knownBool(body map[string]any, key string, value types.Bool) {
	if !value.IsNull() && !value.IsUnknown() {
		body[key] = value.ValueBool()
	}
}

func (r *topicResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan topicModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	body := map[string]any{"name": plan.Name.ValueString()}
	known(body, "partitions", plan.Partitions)
	known(body, "retention_ms", plan.RetentionMs)
	known(body, "retention_bytes", plan.RetentionBytes)
	knownBool(body, "remote_storage_enable", plan.RemoteStorage)
	known(body, "local_retention_ms", plan.LocalMs)
	known(body, "local_retention_bytes", plan.LocalBytes)
	var created apiTopic
	instanceID := plan.InstanceID.ValueString()
	if err := r.api.Do(ctx, http.MethodPost, topicPath(instanceID, ""), body, &created); err != nil {
		addProblem(&resp.Diagnostics, "Cannot create omnibus_topic "+plan.Name.ValueString(), err)
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, topicState(instanceID, &created))...)
}

func (r *topicResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state topicModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var topic apiTopic
	instanceID := state.InstanceID.ValueString()
	err := r.api.Do(ctx, http.MethodGet, topicPath(instanceID, state.Name.ValueString()), nil, &topic)
	if client.IsNotFound(err) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot read omnibus_topic "+state.ID.ValueString(), err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, topicState(instanceID, &topic))...)
}

func (r *topicResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state topicModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	body := map[string]any{}
	if !plan.Partitions.Equal(state.Partitions) {
		known(body, "partitions", plan.Partitions)
	}
	if !plan.RetentionMs.Equal(state.RetentionMs) {
		known(body, "retention_ms", plan.RetentionMs)
	}
	if !plan.RetentionBytes.Equal(state.RetentionBytes) {
		known(body, "retention_bytes", plan.RetentionBytes)
	}
	if !plan.RemoteStorage.Equal(state.RemoteStorage) {
		knownBool(body, "remote_storage_enable", plan.RemoteStorage)
	}
	if !plan.LocalMs.Equal(state.LocalMs) {
		known(body, "local_retention_ms", plan.LocalMs)
	}
	if !plan.LocalBytes.Equal(state.LocalBytes) {
		known(body, "local_retention_bytes", plan.LocalBytes)
	}
	var changed apiTopic
	instanceID := state.InstanceID.ValueString()
	if err := r.api.Do(ctx, http.MethodPatch, topicPath(instanceID, state.Name.ValueString()), body, &changed); err != nil {
		addProblem(&resp.Diagnostics, "Cannot change omnibus_topic "+state.ID.ValueString(), err)
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, topicState(instanceID, &changed))...)
}

func (r *topicResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state topicModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	err := r.api.Do(ctx, http.MethodDelete, topicPath(state.InstanceID.ValueString(), state.Name.ValueString()), nil, nil)
	if err != nil && !client.IsNotFound(err) {
		resp.Diagnostics.AddError("Cannot delete omnibus_topic "+state.ID.ValueString(), err.Error())
	}
}

// ImportState takes `INSTANCE_ID/NAME`.
func (r *topicResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	instanceID, name, ok := cutPair(req.ID)
	if !ok {
		resp.Diagnostics.AddError("Invalid import id", "expected INSTANCE_ID/NAME, got "+req.ID)
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("instance_id"), instanceID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), name)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
}
