// /widgets: the admin API of embeddable chat widgets (platform/reporunner/platform/widgets).
import { request } from "../api";

export interface WidgetColors {
  accent: string | null;
  background: string | null;
  text: string | null;
}

export interface WidgetOut {
  id: string;
  public_id: string;
  name: string;
  workflow_id: string;
  allowed_origins: string[];
  greeting: string;
  colors: WidgetColors;
  messages_per_minute: number;
  visitors_per_minute: number;
  enabled: boolean;
  snippet: string;
  created_at: string;
  updated_at: string;
}

export interface WidgetFields {
  name: string;
  workflow_id: string;
  allowed_origins: string[];
  greeting: string;
  colors: Partial<WidgetColors>;
  messages_per_minute: number;
  visitors_per_minute: number;
  enabled: boolean;
}

export const widgetsApi = {
  list: () => request<{ items: WidgetOut[] }>("/widgets").then((page) => page.items),
  create: (fields: WidgetFields) => request<WidgetOut>("/widgets", { method: "POST", json: fields }),
  update: (id: string, fields: Partial<WidgetFields>) =>
    request<WidgetOut>(`/widgets/${id}`, { method: "PATCH", json: fields }),
  remove: (id: string) => request<void>(`/widgets/${id}`, { method: "DELETE" }),
};
