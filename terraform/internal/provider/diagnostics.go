package provider

import (
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/omnibus/terraform-provider-omnibus/internal/client"
)

// addProblem reports err under summary; an API problem that names a field
// is attached to that attribute, so Terraform points at the line at fault.
func addProblem(diags *diag.Diagnostics, summary string, err error) {
	if problem, ok := err.(*client.Problem); ok && problem.Field != "" && !strings.ContainsAny(problem.Field, ".[") {
		diags.AddAttributeError(path.Root(problem.Field), summary, err.Error())
		return
	}
	diags.AddError(summary, err.Error())
}

// cutPair splits an import id `A/B`.
func cutPair(id string) (string, string, bool) {
	a, b, ok := strings.Cut(id, "/")
	return a, b, ok && a != "" && b != ""
}
