import { Navigate, Route, Routes } from "react-router-dom";
import { ApiKeysPage } from "./ApiKeysPage";
import { AuditPage } from "./AuditPage";
import { CredentialsPage } from "./CredentialsPage";
import { McpServersPage } from "./McpServersPage";
import { MembersPage } from "./MembersPage";
import { RequireRole } from "./RequireRole";
import { SchedulesPage } from "./SchedulesPage";
import { SettingsNav } from "./SettingsNav";
import { WidgetsPage } from "../widgets/WidgetsPage";
import "./settings.css";

/** /settings/*: the side navigation and the page of the path. */
export function SettingsPage() {
  return (
    <div className="settings">
      <SettingsNav />
      <div className="settings-body">
        <Routes>
          <Route index element={<Navigate to="credentials" replace />} />
          <Route path="credentials" element={<CredentialsPage />} />
          <Route path="members" element={<MembersPage />} />
          <Route path="api-keys" element={<ApiKeysPage />} />
          <Route path="schedules" element={<SchedulesPage />} />
          <Route path="mcp-servers" element={<McpServersPage />} />
          <Route path="widgets" element={<RequireRole role="admin"><WidgetsPage /></RequireRole>} />
          <Route path="audit" element={<RequireRole role="admin"><AuditPage /></RequireRole>} />
          <Route path="*" element={<p role="alert">No such settings page.</p>} />
        </Routes>
      </div>
    </div>
  );
}
