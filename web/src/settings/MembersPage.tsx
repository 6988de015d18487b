import { useCallback, useEffect, useState, type FormEvent } from "react";
import type { Role } from "../api";
import { atLeast, useAuth } from "../auth";
import { when } from "./RequireRole";
import {
  describe,
  settingsApi,
  type Invitation,
  type InvitationCreated,
  type Member,
} from "./settingsApi";

const ROLES: Role[] = ["viewer", "editor", "admin", "owner"];

/** /settings/members: members and roles, invitations. The API enforces every rule; the page
 * disables what the signed-in role cannot do (an admin never acts on an owner). */
export function MembersPage() {
  const { me } = useAuth();
  const isAdmin = atLeast(me, "admin");
  const isOwner = me?.role === "owner";
  const [members, setMembers] = useState<Member[]>([]);
  const [invitations, setInvitations] = useState<Invitation[]>([]);
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("viewer");
  const [created, setCreated] = useState<InvitationCreated | null>(null);
  const [error, setError] = useState("");

  const load = useCallback(() => {
    settingsApi.members().then(setMembers, (e) => setError(describe(e)));
    if (isAdmin) settingsApi.invitations().then(setInvitations, (e) => setError(describe(e)));
  }, [isAdmin]);
  useEffect(load, [load]);

  const mayActOn = (r: Role) => isAdmin && (isOwner || r !== "owner");

  async function act(run: () => Promise<unknown>) {
    setError("");
    try {
      await run();
    } catch (err) {
      setError(describe(err));
    }
    load();
  }

  async function invite(e: FormEvent) {
    e.preventDefault();
    setError("");
    setCreated(null);
    try {
      setCreated(await settingsApi.invite(email, role));
      setEmail("");
      load();
    } catch (err) {
      setError(describe(err));
    }
  }

  return (
    <section className="page">
      <div className="page-head">
        <h1>Members</h1>
        <span className="muted small">You are {me?.role}.</span>
      </div>
      {error && <pre role="alert" className="error">{error}</pre>}
      <table className="list" aria-label="Members">
        <thead>
          <tr>
            <th>E-mail</th>
            <th>Name</th>
            <th>Role</th>
            <th>Joined</th>
            <th><span className="sr-only">Actions</span></th>
          </tr>
        </thead>
        <tbody>
          {members.map((m) => {
            const may = mayActOn(m.role);
            return (
              <tr key={m.user_id}>
                <td>{m.email}{m.user_id === me?.user.id && <span className="tag">you</span>}</td>
                <td>{m.name}</td>
                <td>
                  <select aria-label={`Role of ${m.email}`} value={m.role} disabled={!may}
                    onChange={(e) => void act(() => settingsApi.changeRole(m.user_id, e.target.value as Role))}>
                    {ROLES.map((r) => (
                      <option key={r} value={r} disabled={r === "owner" && !isOwner}>{r}</option>
                    ))}
                  </select>
                </td>
                <td>{when(m.joined_at)}</td>
                <td className="actions">
                  <button type="button" aria-label={`Remove ${m.email}`} disabled={!may}
                    onClick={() => {
                      if (window.confirm(`Remove ${m.email} from the workspace? Their keys are revoked.`))
                        void act(() => settingsApi.removeMember(m.user_id));
                    }}>
                    Remove
                  </button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>

      <h2>Invite</h2>
      <form className="settings-form" aria-label="Invite a member" onSubmit={(e) => void invite(e)}>
        <label>
          E-mail
          <input type="email" required value={email} disabled={!isAdmin}
            onChange={(e) => setEmail(e.target.value)} />
        </label>
        <label>
          Role
          <select aria-label="Invitation role" value={role} disabled={!isAdmin}
            onChange={(e) => setRole(e.target.value as Role)}>
            {ROLES.map((r) => (
              <option key={r} value={r} disabled={!atLeast(me, r)}>{r}</option>
            ))}
          </select>
        </label>
        <button type="submit" className="primary" disabled={!isAdmin}
          title={isAdmin ? undefined : "needs the admin role"}>
          Invite
        </button>
      </form>
      {created && (
        <div className="once" role="region" aria-label="Invitation link">
          <strong>Send this link to {created.email}</strong> (role {created.role}). It is shown
          only now and works once, until {when(created.expires_at)}.
          <code aria-label="Invitation URL">{created.url}</code>
          <button type="button" onClick={() => void navigator.clipboard?.writeText(created.url)}>
            Copy
          </button>{" "}
          <button type="button" onClick={() => setCreated(null)}>Done</button>
        </div>
      )}

      {isAdmin && (
        <>
          <h2>Pending invitations</h2>
          <table className="list" aria-label="Pending invitations">
            <thead>
              <tr>
                <th>E-mail</th>
                <th>Role</th>
                <th>Invited</th>
                <th>Expires</th>
                <th><span className="sr-only">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              {invitations.map((i) => (
                <tr key={i.id}>
                  <td>{i.email}</td>
                  <td>{i.role}</td>
                  <td>{when(i.created_at)}</td>
                  <td>{when(i.expires_at)}{i.expired && <span className="tag">expired</span>}</td>
                  <td className="actions">
                    <button type="button" aria-label={`Revoke invitation of ${i.email}`}
                      disabled={!atLeast(me, i.role)}
                      onClick={() => void act(() => settingsApi.revokeInvitation(i.id))}>
                      Revoke
                    </button>
                  </td>
                </tr>
              ))}
              {invitations.length === 0 && (
                <tr><td colSpan={5} className="muted">No pending invitations.</td></tr>
              )}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
