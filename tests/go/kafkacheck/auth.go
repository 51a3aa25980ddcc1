package main

import (
	"context"

	"github.com/twmb/franz-go/pkg/kadm"
)

// authResult is one Metadata request per mechanism with the right password,
// then with a wrong one and with an unknown user.
type authResult struct {
	Accepted    map[string]authAttempt `json:"accepted"`
	Wrong       map[string]authAttempt `json:"wrong_password"`
	UnknownUser map[string]authAttempt `json:"unknown_user"`
}

type authAttempt struct {
	Brokers int        `json:"brokers"`
	Error   *errorJSON `json:"error"`
}

var mechanisms = []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}

func runAuth(ctx context.Context, l login, _ []string) (any, error) {
	out := authResult{Accepted: map[string]authAttempt{}, Wrong: map[string]authAttempt{}, UnknownUser: map[string]authAttempt{}}
	for _, mechanism := range mechanisms {
		right := l
		right.mechanism = mechanism
		wrong := right
		wrong.password += "-wrong"
		unknown := right
		unknown.user = "nobody-" + l.user
		var err error
		if out.Accepted[mechanism], err = attempt(ctx, right); err != nil {
			return nil, err
		}
		if out.Wrong[mechanism], err = attempt(ctx, wrong); err != nil {
			return nil, err
		}
		if out.UnknownUser[mechanism], err = attempt(ctx, unknown); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// attempt connects as l and asks for the cluster's metadata.
func attempt(ctx context.Context, l login) (authAttempt, error) {
	cl, err := l.client()
	if err != nil {
		return authAttempt{}, err
	}
	defer cl.Close()
	metadata, err := kadm.NewClient(cl).BrokerMetadata(ctx)
	return authAttempt{Brokers: len(metadata.Brokers), Error: describeError(err)}, nil
}
