// The workspace the app acts in, and a switch to another of the user's workspaces (each with the
// user's role there). The choice is the `rr_workspace` cookie, which the server reads for a
// browser session (a default for X-Workspace), so every request, link, download and event
// stream acts in it; switching reloads the app at the workflows list of the new workspace.
import { useEffect, useState } from "react";
import { request, type Me, type Role } from "../api";

export const WORKSPACE_COOKIE = "rr_workspace";

interface WorkspaceItem {
  id: string;
  slug: string;
  name: string;
  role: Role;
}

export function chooseWorkspace(id: string | null): void {
  const secure = window.location.protocol === "https:" ? "; Secure" : "";
  document.cookie = id
    ? `${WORKSPACE_COOKIE}=${encodeURIComponent(id)}; Path=/; SameSite=Lax; Max-Age=31536000${secure}`
    : `${WORKSPACE_COOKIE}=; Path=/; SameSite=Lax; Max-Age=0${secure}`;
}

export function WorkspaceSwitcher({ me }: { me: Me }) {
  const [items, setItems] = useState<WorkspaceItem[]>([]);
  useEffect(() => {
    let cancelled = false;
    request<WorkspaceItem[]>("/workspaces").then(
      (list) => {
        if (!cancelled) setItems(list);
      },
      () => undefined, // the current workspace still shows
    );
    return () => {
      cancelled = true;
    };
  }, [me.workspace.id]);

  const label = `${me.workspace.name} (${me.role})`;
  if (items.length < 2) {
    return (
      <span className="workspace" data-testid="workspace" aria-label="Workspace">
        {label}
      </span>
    );
  }
  return (
    <select className="workspace" data-testid="workspace" aria-label="Workspace" value={me.workspace.id}
      onChange={(e) => {
        chooseWorkspace(e.target.value);
        window.location.assign("/");
      }}>
      {items.map((w) => (
        <option key={w.id} value={w.id}>
          {w.name} ({w.role})
        </option>
      ))}
    </select>
  );
}
