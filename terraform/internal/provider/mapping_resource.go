package provider

import (
	"context"
	"net/http"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/omnibus/terraform-provider-omnibus/internal/client"
)

type mappingResource struct {
	api *client.Client
}

type mappingModel struct {
	ID              types.String `tfsdk:"id"`
	InstanceID      types.String `tfsdk:"instance_id"`
	MQTTFilter      types.String `tfsdk:"mqtt_filter"`
	KafkaTopic      types.String `tfsdk:"kafka_topic"`
	Direction       types.String `tfsdk:"direction"`
	MQTTTopicPrefix types.String `tfsdk:"mqtt_topic_prefix"`
}

type apiMapping struct {
	ID              string `json:"id"`
	InstanceID      string `json:"instance_id"`
	MQTTFilter      string `json:"mqtt_filter"`
	KafkaTopic      string `json:"kafka_topic"`
	Direction       string `json:"direction"`
	MQTTTopicPrefix string `json:"mqtt_topic_prefix"`
}

func newMappingResource() resource.Resource { return &mappingResource{} }

func (r *mappingResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_mapping"
}

func (r *mappingResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	keep := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	resp.Schema = schema.Schema{
		Description: "Joins the MQTT topics matching a filter and a Kafka topic of an instance, one way or both. " +
			"Every instance starts with `#` ↔ `mqtt`, both ways (not managed by this resource unless imported).",
		Attributes: map[string]schema.Attribute{
			"id":          schema.StringAttribute{Computed: true, PlanModifiers: keep},
			"instance_id": schema.StringAttribute{Required: true, PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}, Description: "The instance; changing it replaces the mapping."},
			"mqtt_filter": schema.StringAttribute{Required: true, Description: "An MQTT topic filter (`+` one level, `#` the rest). Changed in place."},
			"kafka_topic": schema.StringAttribute{Required: true, Description: "A Kafka topic name (created when missing). Changed in place."},
			"direction": schema.StringAttribute{
				Optional: true, Computed: true, PlanModifiers: keep,
				Description: "`mqtt_to_kafka`, `kafka_to_mqtt` or `both` (the default).",
			},
			"mqtt_topic_prefix": schema.StringAttribute{
				Optional: true, Computed: true, PlanModifiers: keep,
				Description: "The part of the MQTT topics the Kafka side does not see (e.g. `devices/`); empty by default.",
			},
		},
	}
}

func (r *mappingResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	if api, ok := req.ProviderData.(*client.Client); ok {
		r.api = api
	}
}

func mappingPath(instanceID, id string) string {
	return "/v1/instances/" + instanceID + "/mappings" + strings.TrimRight("/"+id, "/")
}

func mappingState(m *apiMapping) mappingModel {
	return mappingModel{
		ID:              types.StringValue(m.ID),
		InstanceID:      types.StringValue(m.InstanceID),
		MQTTFilter:      types.StringValue(m.MQTTFilter),
		KafkaTopic:      types.StringValue(m.KafkaTopic),
		Direction:       types.StringValue(m.Direction),
		MQTTTopicPrefix: types.StringValue(m.MQTTTopicPrefix),
	}
}

// mappingBody is the planned mapping as the API takes it (create and update alike).
func mappingBody(plan mappingModel) map[string]any {
	body := map[string]any{}
	set(body, "mqtt_filter", plan.MQTTFilter)
	set(body, "kafka_topic", plan.KafkaTopic)
	set(body, "direction", plan.Direction)
	set(body, "mqtt_topic_prefix", plan.MQTTTopicPrefix)
	return body
}

// set adds value to body under key when it is set in the plan.
func set(body map[string]any, key string, value types.String) {
	if !value.IsNull() && !value.IsUnknown() {
		body[key] = value.ValueString()
	}
}

func (r *mappingResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan mappingModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	body := mappingBody(plan)
	var created apiMapping
	if err := r.api.Do(ctx, http.MethodPost, mappingPath(plan.InstanceID.ValueString(), ""), body, &created); err != nil {
		addProblem(&resp.Diagnostics, "Cannot create omnibus_mapping", err)
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, mappingState(&created))...)
}

func (r *mappingResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state mappingModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var mapping apiMapping
	err := r.api.Do(ctx, http.MethodGet, mappingPath(state.InstanceID.ValueString(), state.ID.ValueString()), nil, &mapping)
	if client.IsNotFound(err) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot read omnibus_mapping "+state.ID.ValueString(), err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, mappingState(&mapping))...)
}

func (r *mappingResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state mappingModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	body := mappingBody(plan)
	var changed apiMapping
	if err := r.api.Do(ctx, http.MethodPatch, mappingPath(state.InstanceID.ValueString(), state.ID.ValueString()), body, &changed); err != nil {
		addProblem(&resp.Diagnostics, "Cannot change omnibus_mapping "+state.ID.ValueString(), err)
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, mappingState(&changed))...)
}

func (r *mappingResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state mappingModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	err := r.api.Do(ctx, http.MethodDelete, mappingPath(state.InstanceID.ValueString(), state.ID.ValueString()), nil, nil)
	if err != nil && !client.IsNotFound(err) {
		resp.Diagnostics.AddError("Cannot delete omnibus_mapping "+state.ID.ValueString(), err.Error())
	}
}

// ImportState takes `INSTANCE_ID/MAPPING_ID`.
func (r *mappingResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	instanceID, id, ok := cutPair(req.ID)
	if !ok {
		resp.Diagnostics.AddError("Invalid import id", "expected INSTANCE_ID/MAPPING_ID, got "+req.ID)
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("instance_id"), instanceID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), id)...)
}
