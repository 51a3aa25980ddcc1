package provider

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/mapplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/omnibus/terraform-provider-omnibus/internal/client"
)

// How long create and update wait for an instance to be ready.
const readyTimeout = 2 * time.Minute

type instanceResource struct {
	api *client.Client
}

type instanceModel struct {
	ID        types.String `tfsdk:"id"`
	Name      types.String `tfsdk:"name"`
	Plan      types.String `tfsdk:"plan"`
	Region    types.String `tfsdk:"region"`
	Status    types.String `tfsdk:"status"`
	Endpoints types.Map    `tfsdk:"endpoints"`
	CreatedAt types.String `tfsdk:"created_at"`
}

func newInstanceResource() resource.Resource { return &instanceResource{} }

func (r *instanceResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_instance"
}

func (r *instanceResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	keep := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	resp.Schema = schema.Schema{
		Description: "An Omnibus instance: an MQTT and Kafka namespace on a shared fleet.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, PlanModifiers: keep, Description: "The instance id."},
			"name": schema.StringAttribute{
				Required:    true,
				Description: "1-63 lowercase letters, digits and '-', unique in the organization; changed in place.",
			},
			"plan": schema.StringAttribute{
				Required:    true,
				Description: "The plan (see the omnibus_plans data source); changed in place, clients stay connected.",
			},
			"region": schema.StringAttribute{
				Optional:    true,
				Computed:    true,
				Description: "Where it runs; the default region when not set. Changing it replaces the instance.",
				PlanModifiers: []planmodifier.String{
					stringplanmodifier.UseStateForUnknown(),
					stringplanmodifier.RequiresReplaceIfConfigured(),
				},
			},
			"status": schema.StringAttribute{
				Computed:      true,
				PlanModifiers: keep,
				Description:   "`ready` once clients can connect.",
			},
			"endpoints": schema.MapAttribute{
				Computed:      true,
				ElementType:   types.StringType,
				PlanModifiers: []planmodifier.Map{mapplanmodifier.UseStateForUnknown()},
				Description:   "host:port per protocol: mqtt, mqtt_ws, mqtt_tls, mqtt_wss, kafka (those the fleet serves).",
			},
			"created_at": schema.StringAttribute{Computed: true, PlanModifiers: keep},
		},
	}
}

func (r *instanceResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	if api, ok := req.ProviderData.(*client.Client); ok {
		r.api = api
	}
}

func (r *instanceResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan instanceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	body := map[string]any{"name": plan.Name.ValueString(), "plan": plan.Plan.ValueString()}
	if !plan.Region.IsNull() && !plan.Region.IsUnknown() {
		body["region"] = plan.Region.ValueString()
	}
	var created client.Instance
	if err := r.api.Do(ctx, http.MethodPost, "/v1/instances", body, &created); err != nil {
		addProblem(&resp.Diagnostics, "Cannot create omnibus_instance "+plan.Name.ValueString(), err)
		return
	}
	ready, err := r.waitReady(ctx, created.ID)
	if err != nil {
		resp.Diagnostics.AddError("omnibus_instance "+created.Name+" did not become ready", err.Error())
		ready = &created
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, instanceState(ready))...)
}

func (r *instanceResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state instanceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var instance client.Instance
	err := r.api.Do(ctx, http.MethodGet, "/v1/instances/"+state.ID.ValueString(), nil, &instance)
	if client.IsNotFound(err) || (err == nil && instance.Status == "deleting") {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot read omnibus_instance "+state.ID.ValueString(), err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, instanceState(&instance))...)
}

func (r *instanceResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state instanceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	body := map[string]any{}
	if !plan.Name.Equal(state.Name) {
		body["name"] = plan.Name.ValueString()
	}
	if !plan.Plan.Equal(state.Plan) {
		body["plan"] = plan.Plan.ValueString()
	}
	id := state.ID.ValueString()
	if len(body) > 0 {
		if err := r.api.Do(ctx, http.MethodPatch, "/v1/instances/"+id, body, nil); err != nil {
			addProblem(&resp.Diagnostics, "Cannot change omnibus_instance "+state.Name.ValueString(), err)
			return
		}
	}
	ready, err := r.waitReady(ctx, id)
	if err != nil {
		resp.Diagnostics.AddError("omnibus_instance "+plan.Name.ValueString()+" did not become ready", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, instanceState(ready))...)
}

func (r *instanceResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state instanceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	id := state.ID.ValueString()
	err := r.api.Do(ctx, http.MethodDelete, "/v1/instances/"+id, nil, nil)
	if err != nil && !client.IsNotFound(err) {
		resp.Diagnostics.AddError("Cannot delete omnibus_instance "+state.Name.ValueString(), err.Error())
		return
	}
	// Gone once the fleet has removed it (404), so a re-create by the same name works.
	deadline := time.Now().Add(readyTimeout)
	for time.Now().Before(deadline) {
		var instance client.Instance
		if err := r.api.Do(ctx, http.MethodGet, "/v1/instances/"+id, nil, &instance); client.IsNotFound(err) {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	resp.Diagnostics.AddError("omnibus_instance "+state.Name.ValueString()+" is still being deleted",
		fmt.Sprintf("the fleet did not confirm within %s; it is retried by the control plane", readyTimeout))
}

func (r *instanceResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resource.ImportStatePassthroughID(ctx, path.Root("id"), req, resp)
}

// waitReady polls the instance until it is ready (or failed, or the timeout).
func (r *instanceResource) waitReady(ctx context.Context, id string) (*client.Instance, error) {
	deadline := time.Now().Add(readyTimeout)
	for {
		var instance client.Instance
		if err := r.api.Do(ctx, http.MethodGet, "/v1/instances/"+id, nil, &instance); err != nil {
			return nil, err
		}
		switch {
		case instance.Status == "ready":
			return &instance, nil
		case instance.Status == "failed":
			return &instance, fmt.Errorf("the fleet refused it; the control plane retries")
		case time.Now().After(deadline):
			return &instance, fmt.Errorf("still %s after %s", instance.Status, readyTimeout)
		}
		select {
		case <-ctx.Done():
			return &instance, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// instanceState is the Terraform state of an instance as the API answers it.
func instanceState(instance *client.Instance) instanceModel {
	endpoints := map[string]attr.Value{}
	for name, value := range map[string]*string{
		"mqtt":     instance.Endpoints.MQTT,
		"mqtt_ws":  instance.Endpoints.MQTTWS,
		"mqtt_tls": instance.Endpoints.MQTTTLS,
		"mqtt_wss": instance.Endpoints.MQTTWSS,
		"kafka":    instance.Endpoints.Kafka,
	} {
		if value != nil {
			endpoints[name] = types.StringValue(*value)
		}
	}
	return instanceModel{
		ID:        types.StringValue(instance.ID),
		Name:      types.StringValue(instance.Name),
		Plan:      types.StringValue(instance.Plan),
		Region:    types.StringValue(instance.Region),
		Status:    types.StringValue(instance.Status),
		Endpoints: types.MapValueMust(types.StringType, endpoints),
		CreatedAt: types.StringValue(instance.CreatedAt),
	}
}
