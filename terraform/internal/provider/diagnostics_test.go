package provider

import (
	"errors"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/omnibus/terraform-provider-omnibus/internal/client"
)

// A validation problem names its attribute, so Terraform points at the line;
// other errors are reported on the resource.
func TestProblemsPointAtTheirAttribute(t *testing.T) {
	var diags diag.Diagnostics
	problem := &client.Problem{Status: 422, Title: "Invalid request", Detail: "plan must be one of: developer", Field: "plan"}
	addProblem(&diags, "Cannot create omnibus_instance x", problem)
	withPath, ok := diags[0].(diag.DiagnosticWithPath)
	if !ok || !withPath.Path().Equal(path.Root("plan")) {
		t.Fatalf("not attached to plan: %#v", diags)
	}
	if diags[0].Summary() != "Cannot create omnibus_instance x" {
		t.Errorf("summary %q", diags[0].Summary())
	}
	diags = nil
	addProblem(&diags, "Cannot create omnibus_instance x", errors.New("connection refused"))
	if _, ok := diags[0].(diag.DiagnosticWithPath); ok || !diags.HasError() {
		t.Errorf("a transport error has no attribute: %#v", diags)
	}
}
