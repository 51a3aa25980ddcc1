//! `/v1/organizations`: more organizations than the one made at sign-up,
//! renaming, members and their roles (never none left as owner), and
//! invitations sent by email (the token only in the email, kept as a digest,
//! valid seven days, once, for the address invited). A caller acts in the
//! organization in the path with its role there: its token's own, or, for a
//! user, its membership; an organization it is not in is 404.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use omnibus_api::rest::{
    AcceptInvitationRequest, CreateInvitationRequest, Invitation, InvitationPage, Member, MemberPage, Membership,
    Organization, OrganizationPage, OrganizationRequest, Problem, UpdateMemberRequest,
};

use super::AppState;
use super::api_keys::{name_of, role_of};
use super::conditional::{Preconditions, etag, with_etag};
use super::extract::{ApiJson, ApiQuery, PageParams, display_name, paginate};
use crate::auth::{Caller, Permission, Role, new_invitation_token, refresh_token_digest};
use crate::clock::{now_ms, rfc3339};
use crate::error::{ApiError, ApiResult, InternalError};
use crate::mailer::Mail;
use crate::store::{InvitationRow, MemberRow, MembershipChange, OrganizationRow};

const NO_ORGANIZATION: &str = "no organization with that id among yours";
const NO_MEMBER: &str = "no such member";
const NO_INVITATION: &str = "no open invitation with that id";
const INVITATION_TTL_MS: i64 = 7 * 24 * 3600 * 1000;

/// The caller's role in `organization_id`; 404 when it has none there.
async fn role_in(state: &AppState, caller: &Caller, organization_id: &str) -> ApiResult<Role> {
    if caller.organization_id == organization_id {
        return Ok(caller.role);
    }
    let Some(user_id) = caller.user_id() else {
        return Err(ApiError::NotFound(NO_ORGANIZATION));
    };
    let role =
        state.store.membership_role(user_id, organization_id).await?.ok_or(ApiError::NotFound(NO_ORGANIZATION))?;
    Ok(Role::stored(&role)?)
}

/// `role_in`, requiring `permission` there.
async fn require_in(
    state: &AppState,
    caller: &Caller,
    organization_id: &str,
    permission: Permission,
) -> ApiResult<Role> {
    let role = role_in(state, caller, organization_id).await?;
    let acting = Caller { role, organization_id: organization_id.to_owned(), actor: caller.actor.clone() };
    acting.require(permission)?;
    Ok(role)
}

fn to_organization(row: OrganizationRow) -> Organization {
    Organization { id: row.id, name: row.name, created_at: rfc3339(row.created_at) }
}

#[utoipa::path(post, path = "/v1/organizations", tag = "organizations", request_body = OrganizationRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created, with the caller as its owner; log in with its id to act in it", body = Organization),
        (status = 403, description = "API keys cannot create organizations", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<OrganizationRequest>,
) -> ApiResult<impl IntoResponse> {
    let user_id = caller.user_id().ok_or_else(|| ApiError::Forbidden("API keys cannot create organizations".into()))?;
    let row = OrganizationRow {
        id: uuid::Uuid::now_v7().to_string(),
        name: display_name("name", &request.name)?,
        created_at: now_ms(),
    };
    state.store.create_organization(&row, user_id).await?;
    tracing::info!(organization = %row.id, by = %caller.actor, "organization created");
    let location = format!("/v1/organizations/{}", row.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], axum::Json(to_organization(row))))
}

#[utoipa::path(get, path = "/v1/organizations", tag = "organizations",
    security(("bearer" = [])),
    responses((status = 200, description = "The caller's organizations (an API key: its own)", body = OrganizationPage)))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<OrganizationPage>> {
    let memberships = match caller.user_id() {
        Some(user_id) => state.store.memberships(user_id).await?,
        None => {
            let own =
                state.store.organization(&caller.organization_id).await?.ok_or(ApiError::NotFound(NO_ORGANIZATION))?;
            vec![(own, caller.role.as_str().to_owned())]
        }
    };
    let items = memberships
        .into_iter()
        .map(|(organization, role)| Membership { organization: to_organization(organization), role })
        .collect();
    Ok(axum::Json(OrganizationPage { items, next_page_token: None }))
}

#[utoipa::path(get, path = "/v1/organizations/{org}", tag = "organizations",
    params(("org" = String, Path), ("If-None-Match" = Option<String>, Header, description = "ETags the client holds")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Organization, headers(("ETag" = String))),
        (status = 304, description = "The organization is the one If-None-Match names"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    preconditions: Preconditions,
    Path(org): Path<String>,
) -> ApiResult<Response> {
    role_in(&state, &caller, &org).await?;
    let row = state.store.organization(&org).await?.ok_or(ApiError::NotFound(NO_ORGANIZATION))?;
    Ok(with_etag(&preconditions, to_organization(row)))
}

#[utoipa::path(patch, path = "/v1/organizations/{org}", tag = "organizations",
    params(("org" = String, Path), ("If-Match" = Option<String>, Header, description = "Rename only if the organization still has this ETag")),
    request_body = OrganizationRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Organization, headers(("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The organization changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    preconditions: Preconditions,
    Path(org): Path<String>,
    ApiJson(request): ApiJson<OrganizationRequest>,
) -> ApiResult<Response> {
    require_in(&state, &caller, &org, Permission::OrganizationWrite).await?;
    let name = display_name("name", &request.name)?;
    let current = state.store.organization(&org).await?.ok_or(ApiError::NotFound(NO_ORGANIZATION))?;
    let expected = current.name.clone();
    preconditions.check(&etag(&to_organization(current)))?;
    let condition = preconditions.has_if_match().then_some(expected.as_str());
    if !state.store.rename_organization(&org, &name, condition).await? {
        return Err(if condition.is_some() {
            ApiError::PreconditionFailed
        } else {
            ApiError::NotFound(NO_ORGANIZATION)
        });
    }
    let row = state.store.organization(&org).await?.ok_or(ApiError::NotFound(NO_ORGANIZATION))?;
    Ok(with_etag(&Preconditions::none(), to_organization(row)))
}

#[utoipa::path(get, path = "/v1/organizations/{org}/members", tag = "organizations",
    params(("org" = String, Path), PageParams),
    security(("bearer" = [])),
    responses((status = 200, body = MemberPage), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn members(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<axum::Json<MemberPage>> {
    require_in(&state, &caller, &org, Permission::MembersRead).await?;
    let page = params.page()?;
    let rows = state.store.members(&org, page.after.as_deref(), page.size + 1).await?;
    let (rows, next_page_token) = paginate(rows, page.size, |r| r.user_id.as_str());
    let items = rows.into_iter().map(to_member).collect::<ApiResult<Vec<_>>>()?;
    Ok(axum::Json(MemberPage { items, next_page_token }))
}

#[utoipa::path(get, path = "/v1/organizations/{org}/members/{user_id}", tag = "organizations",
    params(("org" = String, Path), ("user_id" = String, Path),
        ("If-None-Match" = Option<String>, Header, description = "ETags the client holds")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Member, headers(("ETag" = String, description = "Changes with the member's role"))),
        (status = 304, description = "The member is the one If-None-Match names"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn member(
    State(state): State<AppState>,
    caller: Caller,
    preconditions: Preconditions,
    Path((org, user_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    require_in(&state, &caller, &org, Permission::MembersRead).await?;
    let row = state.store.member(&org, &user_id).await?.ok_or(ApiError::NotFound(NO_MEMBER))?;
    Ok(with_etag(&preconditions, to_member(row)?))
}

#[utoipa::path(patch, path = "/v1/organizations/{org}/members/{user_id}", tag = "organizations",
    params(("org" = String, Path), ("user_id" = String, Path),
        ("If-Match" = Option<String>, Header, description = "Change only if the member still has this ETag")),
    request_body = UpdateMemberRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The member with the new role", body = Member, headers(("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The organization would have no owner, or the member's role changed during the call", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The member changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_member(
    State(state): State<AppState>,
    caller: Caller,
    preconditions: Preconditions,
    Path((org, user_id)): Path<(String, String)>,
    ApiJson(request): ApiJson<UpdateMemberRequest>,
) -> ApiResult<Response> {
    let acting = require_in(&state, &caller, &org, Permission::MembersWrite).await?;
    let role = role_of(request.role);
    let member = state.store.member(&org, &user_id).await?.ok_or(ApiError::NotFound(NO_MEMBER))?;
    let current = Role::stored(&member.role)?;
    if !acting.can_grant(role) || !acting.can_grant(current) {
        return Err(ApiError::Forbidden(format!("the {acting} role may not make a {current} a {role}")));
    }
    preconditions.check(&etag(&to_member(member.clone())?))?;
    // Conditional on the role the checks above were made against.
    let change =
        state.store.change_membership(&org, &user_id, Some(role.as_str()), Some(&member.role), now_ms()).await?;
    membership_changed(change, &preconditions)?;
    tracing::info!(organization = %org, member = %user_id, role = %role, by = %caller.actor, "member's role changed");
    let row = state.store.member(&org, &user_id).await?.ok_or(ApiError::NotFound(NO_MEMBER))?;
    Ok(with_etag(&Preconditions::none(), to_member(row)?))
}

#[utoipa::path(delete, path = "/v1/organizations/{org}/members/{user_id}", tag = "organizations",
    params(("org" = String, Path), ("user_id" = String, Path),
        ("If-Match" = Option<String>, Header, description = "Remove only if the member still has this ETag")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed (or left, for oneself); their logins in the organization end"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The organization would have no owner, or the member's role changed during the call", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The member changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn remove_member(
    State(state): State<AppState>,
    caller: Caller,
    preconditions: Preconditions,
    Path((org, user_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let leaving = caller.user_id() == Some(user_id.as_str());
    let acting = if leaving {
        role_in(&state, &caller, &org).await?
    } else {
        require_in(&state, &caller, &org, Permission::MembersWrite).await?
    };
    let member = state.store.member(&org, &user_id).await?.ok_or(ApiError::NotFound(NO_MEMBER))?;
    let current = Role::stored(&member.role)?;
    if !leaving && !acting.can_grant(current) {
        return Err(ApiError::Forbidden(format!("the {acting} role may not remove a {current}")));
    }
    preconditions.check(&etag(&to_member(member.clone())?))?;
    let change = state.store.change_membership(&org, &user_id, None, Some(&member.role), now_ms()).await?;
    membership_changed(change, &preconditions)?;
    tracing::info!(organization = %org, member = %user_id, by = %caller.actor, "member removed");
    Ok(StatusCode::NO_CONTENT)
}

fn membership_changed(change: MembershipChange, preconditions: &Preconditions) -> ApiResult<()> {
    match change {
        MembershipChange::Done => Ok(()),
        MembershipChange::NotMember => Err(ApiError::NotFound(NO_MEMBER)),
        MembershipChange::LastOwner => Err(ApiError::Conflict("the organization must keep at least one owner".into())),
        MembershipChange::Changed if preconditions.has_if_match() => Err(ApiError::PreconditionFailed),
        MembershipChange::Changed => {
            Err(ApiError::Conflict("the member's role changed during the call; GET it and try again".into()))
        }
    }
}

fn to_member(row: MemberRow) -> ApiResult<Member> {
    let role = Role::stored(&row.role)?;
    Ok(Member { user_id: row.user_id, email: row.email, role: name_of(role), joined_at: rfc3339(row.created_at) })
}

#[utoipa::path(post, path = "/v1/organizations/{org}/invitations", tag = "organizations",
    params(("org" = String, Path)), request_body = CreateInvitationRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Sent: the token is in the email only", body = Invitation),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn invite(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    ApiJson(request): ApiJson<CreateInvitationRequest>,
) -> ApiResult<impl IntoResponse> {
    let acting = require_in(&state, &caller, &org, Permission::MembersWrite).await?;
    let role = role_of(request.role);
    if !acting.can_grant(role) {
        return Err(ApiError::Forbidden(format!("the {acting} role may not invite a {role}")));
    }
    let email = super::auth::normalize_email(&request.email)?;
    let organization = state.store.organization(&org).await?.ok_or(ApiError::NotFound(NO_ORGANIZATION))?;
    let (token, token_hash) = new_invitation_token();
    let now = now_ms();
    let row = InvitationRow {
        id: uuid::Uuid::now_v7().to_string(),
        organization_id: org.clone(),
        email: email.clone(),
        role: role.as_str().to_owned(),
        token_hash,
        invited_by: caller.actor.to_string(),
        created_at: now,
        expires_at: now + INVITATION_TTL_MS,
        accepted_at: None,
        revoked_at: None,
    };
    state.store.insert_invitation(&row).await?;
    let mail = Mail {
        to: email,
        subject: format!("You are invited to {} on Omnibus", organization.name),
        body: format!(
            "You are invited to join {} on Omnibus as {role}.\n\nLog in (or sign up with this address) and accept:\n\n  \
             {}/invitations/accept?token={token}\n\nor call POST /v1/invitations/accept with {{\"token\": \"{token}\"}}.\n\
             The invitation expires on {}.\n",
            organization.name,
            state.config.public_url.trim_end_matches('/'),
            rfc3339(row.expires_at),
        ),
    };
    state.mailer.send(&mail).await.map_err(InternalError::from)?;
    tracing::info!(organization = %org, invitation = %row.id, role = %role, by = %caller.actor, "invitation sent");
    let location = format!("/v1/organizations/{org}/invitations/{}", row.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], axum::Json(to_invitation(&row)?)))
}

#[utoipa::path(get, path = "/v1/organizations/{org}/invitations", tag = "organizations",
    params(("org" = String, Path), PageParams),
    security(("bearer" = [])),
    responses((status = 200, description = "Open invitations", body = InvitationPage), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn invitations(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<axum::Json<InvitationPage>> {
    require_in(&state, &caller, &org, Permission::MembersRead).await?;
    let page = params.page()?;
    let rows = state.store.invitations(&org, page.after.as_deref(), page.size + 1).await?;
    let (rows, next_page_token) = paginate(rows, page.size, |r| r.id.as_str());
    let items = rows.iter().map(to_invitation).collect::<ApiResult<Vec<_>>>()?;
    Ok(axum::Json(InvitationPage { items, next_page_token }))
}

#[utoipa::path(get, path = "/v1/organizations/{org}/invitations/{id}", tag = "organizations",
    params(("org" = String, Path), ("id" = String, Path),
        ("If-None-Match" = Option<String>, Header, description = "ETags the client holds")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "An open invitation", body = Invitation, headers(("ETag" = String))),
        (status = 304, description = "The invitation is the one If-None-Match names"),
        (status = 404, description = "No open invitation (accepted, revoked or never sent)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn invitation(
    State(state): State<AppState>,
    caller: Caller,
    preconditions: Preconditions,
    Path((org, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    require_in(&state, &caller, &org, Permission::MembersRead).await?;
    let row = state.store.invitation(&org, &id).await?.ok_or(ApiError::NotFound(NO_INVITATION))?;
    Ok(with_etag(&preconditions, to_invitation(&row)?))
}

#[utoipa::path(delete, path = "/v1/organizations/{org}/invitations/{id}", tag = "organizations",
    params(("org" = String, Path), ("id" = String, Path),
        ("If-Match" = Option<String>, Header, description = "Revoke only if the invitation still has this ETag")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Revoked; its token no longer works"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The invitation is not the one the ETag in If-Match names", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn revoke_invitation(
    State(state): State<AppState>,
    caller: Caller,
    preconditions: Preconditions,
    Path((org, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    require_in(&state, &caller, &org, Permission::MembersWrite).await?;
    if preconditions.has_if_match() {
        // An invitation never changes while open: the write below revokes
        // only an open one, so checking the tag first loses nothing.
        let row = state.store.invitation(&org, &id).await?.ok_or(ApiError::NotFound(NO_INVITATION))?;
        preconditions.check(&etag(&to_invitation(&row)?))?;
    }
    if !state.store.revoke_invitation(&org, &id, now_ms()).await? {
        return Err(ApiError::NotFound(NO_INVITATION));
    }
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/invitations/accept", tag = "organizations", request_body = AcceptInvitationRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Joined: the organization and the role", body = Membership),
        (status = 403, description = "The invitation is for another address", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No open invitation has this token (spent, revoked or expired)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn accept(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<AcceptInvitationRequest>,
) -> ApiResult<axum::Json<Membership>> {
    let user_id =
        caller.user_id().ok_or_else(|| ApiError::Forbidden("invitations are for people, not API keys".into()))?;
    let gone = ApiError::NotFound("no open invitation has this token");
    let invitation = state.store.invitation_by_token(&refresh_token_digest(&request.token)).await?.ok_or(gone)?;
    let now = now_ms();
    if invitation.accepted_at.is_some() || invitation.revoked_at.is_some() || invitation.expires_at <= now {
        return Err(ApiError::NotFound("no open invitation has this token"));
    }
    let user = state.store.user_by_id(user_id).await?.ok_or(ApiError::Unauthorized("the user is gone"))?;
    if user.email != invitation.email {
        return Err(ApiError::Forbidden("the invitation is for another email address".into()));
    }
    if !state.store.accept_invitation(&invitation, user_id, now).await? {
        return Err(ApiError::NotFound("no open invitation has this token"));
    }
    tracing::info!(organization = %invitation.organization_id, user = %user_id, "invitation accepted");
    let organization =
        state.store.organization(&invitation.organization_id).await?.ok_or(ApiError::NotFound(NO_ORGANIZATION))?;
    let role = state.store.membership_role(user_id, &organization.id).await?.unwrap_or(invitation.role);
    Ok(axum::Json(Membership { organization: to_organization(organization), role }))
}

fn to_invitation(row: &InvitationRow) -> ApiResult<Invitation> {
    let role = Role::stored(&row.role)?;
    Ok(Invitation {
        id: row.id.clone(),
        organization_id: row.organization_id.clone(),
        email: row.email.clone(),
        role: name_of(role),
        invited_by: row.invited_by.clone(),
        created_at: rfc3339(row.created_at),
        expires_at: rfc3339(row.expires_at),
    })
}
