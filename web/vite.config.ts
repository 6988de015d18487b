import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// `npm run dev` proxies the API to a running `reporunner serve` (RR_API, default :8000).
// RR_DEV_API_KEY lets the dev server sign requests with an API key instead of a session.
const api = process.env.RR_API ?? "http://127.0.0.1:8000";
const key = process.env.RR_DEV_API_KEY;
const apiPaths = [
  "/auth", "/workflows", "/executions", "/nodes", "/credentials", "/credential-types",
  "/workspace", "/hooks", "/health", "/docs",
];

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    assetsDir: "assets",
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 2000,
  },
  server: {
    proxy: Object.fromEntries(
      apiPaths.map((p) => [
        p,
        {
          target: api,
          changeOrigin: true,
          headers: key ? { Authorization: `Bearer ${key}` } : undefined,
          bypass: (req: { headers: Record<string, string | string[] | undefined> }) =>
            String(req.headers.accept ?? "").includes("text/html") ? "/index.html" : undefined,
        },
      ]),
    ),
  },
});
