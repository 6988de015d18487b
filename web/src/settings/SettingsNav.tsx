import { NavLink } from "react-router-dom";
import type { Role } from "../api";
import { atLeast, useAuth } from "../auth";

export interface SettingsPageLink {
  /** Path under /settings/. */
  path: string;
  label: string;
  /** The least role that may open the page (lower roles see the link disabled). */
  role: Role;
}

/** Every settings page, in the order the side navigation lists them. */
export const SETTINGS_PAGES: SettingsPageLink[] = [
  { path: "credentials", label: "Credentials", role: "viewer" },
  { path: "members", label: "Members", role: "viewer" },
  { path: "api-keys", label: "API keys", role: "viewer" },
  { path: "schedules", label: "Schedules", role: "viewer" },
  { path: "mcp-servers", label: "MCP servers", role: "viewer" },
  { path: "widgets", label: "Chat widgets", role: "admin" },
  { path: "audit", label: "Audit log", role: "admin" },
];

/** The settings side navigation; a page above the member's role is shown but not a link. */
export function SettingsNav() {
  const { me } = useAuth();
  return (
    <nav className="settings-nav" aria-label="Settings">
      <h2>Settings</h2>
      <ul>
        {SETTINGS_PAGES.map((p) => (
          <li key={p.path}>
            {atLeast(me, p.role) ? (
              <NavLink to={`/settings/${p.path}`}>{p.label}</NavLink>
            ) : (
              <span aria-disabled="true" className="muted" title={`needs the ${p.role} role`}>
                {p.label} <small>({p.role})</small>
              </span>
            )}
          </li>
        ))}
      </ul>
    </nav>
  );
}
